#include "mltk/inference/frozen_forward.h"

#include "mltk/common/logging.h"
#include "mltk/onnx_export/trace.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>
#include <torch/torch.h>

namespace mltk::inference {

namespace {

// The trace with every parameter and buffer turned from a graph input into a constant, which is
// what the frozen-graph passes look for.
std::shared_ptr<torch::jit::Graph> frozen_graph(const onnx_export::TracedModule& traced) {
  auto graph = traced.graph;
  {
    torch::jit::WithInsertPoint at_start(graph->block()->nodes().front());
    for (size_t i = traced.parameters.size(); i-- > 0;) {
      const size_t index = traced.input_count + i;
      // Detached: a constant must not require grad; it shares the parameter's storage.
      graph->inputs()[index]->replaceAllUsesWith(graph->insertConstant(traced.parameters[i].second.detach()));
      graph->eraseInput(index);
    }
  }  // the passes below may remove the node inserted before
  torch::jit::OptimizeFrozenGraph(graph, /*optimize_numerics=*/true);
  torch::jit::FuseFrozenConvAddRelu(graph);
  torch::jit::ConvertFrozenOpsToMKLDNN(graph);
  torch::jit::FrozenLinearTranspose(graph);
  return graph;
}

// Some of LibTorch's frozen kernels warn, on every call, that they resized an output buffer of their
// own (a deprecation inside LibTorch that a user cannot act on); such warnings go to --verbose.
class WarningsToDebugLog : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation& location, const std::string& message, bool /*verbatim*/) override {
    log::debug("LibTorch warning at {}:{}: {}", location.file, location.line, message);
  }
};

}  // namespace

FrozenForward::FrozenForward(torch::nn::Module& module, pipeline::ForwardFn eager)
    : module_(module), eager_(std::move(eager)) {}

FrozenForward::~FrozenForward() = default;

torch::Tensor FrozenForward::operator()(const torch::Tensor& images) {
  const auto shape = images.sizes().vec();
  auto found = frozen_.find(shape);
  if (found == frozen_.end()) {
    std::unique_ptr<torch::jit::GraphFunction> function;
    try {
      const auto traced = onnx_export::trace_module(module_, eager_, images);
      function = std::make_unique<torch::jit::GraphFunction>("frozen_forward", frozen_graph(traced), nullptr);
    } catch (const std::exception& e) {
      log::warning("Running the model eagerly for inputs of shape {}: its frozen graph could not be built ({})",
                   fmt::join(shape, "x"), e.what());
    }
    found = frozen_.emplace(shape, std::move(function)).first;
  }
  if (!found->second) return eager_(images);
  torch::NoGradGuard no_grad;
  WarningsToDebugLog to_debug_log;
  c10::Warning::WarningHandlerGuard quiet(&to_debug_log);
  return (*found->second)({images}).toTensor();
}

std::map<std::string, int64_t> FrozenForward::node_kinds(const std::vector<int64_t>& shape) const {
  const auto found = frozen_.find(shape);
  if (found == frozen_.end() || !found->second) return {};
  return onnx_export::count_node_kinds(*found->second->graph());
}

}  // namespace mltk::inference
