#pragma once
// Records one forward pass of a module as a TorchScript (aten) graph whose parameters and buffers are
// named graph inputs rather than anonymous tensor constants, so that the converter can turn them
// into initializers carrying the module's dotted parameter names.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct Graph;
struct Node;
}

namespace mltk::onnx_export {

using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

struct TracedModule {
  // Inputs: the `input_count` example inputs first, then one input per entry of `parameters`.
  std::shared_ptr<torch::jit::Graph> graph;
  size_t input_count = 1;
  std::vector<std::pair<std::string, torch::Tensor>> parameters;  // parameters, then buffers
  std::vector<torch::Tensor> inputs;   // the example inputs it was traced with
  std::vector<torch::Tensor> outputs;  // LibTorch's own results for them
};

// Traces `forward(example)` in eval mode without autograd; the module's training flag is restored.
// Afterwards the graph is cleaned up: inlined, constants propagated (this is the exporter's constant
// folding: every node whose inputs are all constants is evaluated by LibTorch itself), dead code removed.
TracedModule trace_module(torch::nn::Module& module, const ForwardFn& forward, const torch::Tensor& example);

// Throws std::runtime_error naming the first node whose operation or constant arguments differ
// between two traces of the same module at different batch sizes: such a graph has a batch size
// baked in (typically a size read in C++ and passed back as a number) and cannot run at another one.
void require_batch_independent(const torch::jit::Graph& first, int64_t first_batch, const torch::jit::Graph& second,
                               int64_t second_batch);

// One node as TorchScript prints it, on one line, for error messages.
std::string describe_node(const torch::jit::Node& node);

// "aten::relu" -> how many nodes of that kind the graph has.
std::map<std::string, int64_t> count_node_kinds(const torch::jit::Graph& graph);

}  // namespace mltk::onnx_export
