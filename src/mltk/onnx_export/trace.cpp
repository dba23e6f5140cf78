#include "mltk/onnx_export/trace.h"

#include "mltk/models/eval_mode.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <sstream>
#include <stdexcept>
#include <unordered_set>

namespace mltk::onnx_export {
namespace {

// Parameters then buffers, each tensor once: a tensor shared by two submodules (tied weights) must
// map to a single graph input, named after its first owner.
std::vector<std::pair<std::string, torch::Tensor>> unique_named_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::unordered_set<const void*> seen;
  auto collect = [&](const torch::OrderedDict<std::string, torch::Tensor>& dict) {
    for (const auto& item : dict) {
      if (!item.value().defined() || !seen.insert(item.value().unsafeGetTensorImpl()).second) continue;
      tensors.emplace_back(item.key(), item.value());
    }
  };
  collect(module.named_parameters(/*recurse=*/true));
  collect(module.named_buffers(/*recurse=*/true));
  return tensors;
}

// What must be equal between two traces: the operation, and the value of any constant.
std::string node_signature(const torch::jit::Node& node) {
  std::ostringstream text;
  text << node.kind().toQualString();
  if (node.kind() == c10::prim::Constant && node.outputs().size() == 1) {
    if (auto value = torch::jit::toIValue(node.output())) {
      if (value->isTensor())
        text << " tensor" << value->toTensor().sizes();
      else
        text << " " << *value;
    }
  }
  return text.str();
}

}  // namespace

TracedModule trace_module(torch::nn::Module& module, const ForwardFn& forward, const torch::Tensor& example) {
  const models::EvalModeScope eval_mode(module);
  torch::NoGradGuard no_grad;

  TracedModule traced;
  traced.parameters = unique_named_tensors(module);

  // Passing the module's own parameter tensors as trace inputs makes the tracer map every use of
  // them inside forward() to the corresponding graph input, instead of recording a constant.
  torch::jit::Stack inputs;
  inputs.emplace_back(example);
  for (const auto& [name, tensor] : traced.parameters) inputs.emplace_back(tensor);

  auto traced_fn = [&forward](torch::jit::Stack stack) -> torch::jit::Stack {
    return {forward(stack.front().toTensor())};
  };
  auto no_names = [](const torch::autograd::Variable&) { return std::string(); };
  auto [state, outputs] = torch::jit::tracer::trace(std::move(inputs), traced_fn, no_names, /*strict=*/false,
                                                    /*force_outplace=*/true, /*self=*/nullptr);
  traced.graph = state->graph;
  traced.inputs = {example};
  traced.outputs = {outputs.front().toTensor()};

  if (traced.graph->inputs().size() != traced.parameters.size() + 1)
    throw std::logic_error("the tracer created " + std::to_string(traced.graph->inputs().size()) +
                           " graph inputs for " + std::to_string(traced.parameters.size() + 1) + " tensors");
  torch::jit::Inline(*traced.graph);
  torch::jit::ConstantPropagation(traced.graph);
  torch::jit::EliminateDeadCode(traced.graph);
  return traced;
}

void require_batch_independent(const torch::jit::Graph& first, int64_t first_batch, const torch::jit::Graph& second,
                               int64_t second_batch) {
  auto a = first.nodes().begin(), b = second.nodes().begin();
  for (; a != first.nodes().end() && b != second.nodes().end(); ++a, ++b) {
    if (node_signature(**a) == node_signature(**b)) continue;
    throw std::runtime_error(
        "dynamic batch export impossible: the traced graph depends on the batch size. At batch " +
        std::to_string(first_batch) + " the trace has\n  " + describe_node(**a) + "\nwhere at batch " +
        std::to_string(second_batch) + " it has\n  " + describe_node(**b) +
        "\nA size read in C++ (e.g. x.size(0)) became a constant. Write the model shape-agnostically "
        "(x.flatten(1), reshape with -1) or export with a fixed batch size.");
  }
  if (a != first.nodes().end() || b != second.nodes().end())
    throw std::runtime_error("dynamic batch export impossible: the traced graph has a different number of nodes at batch " +
                             std::to_string(first_batch) + " and at batch " + std::to_string(second_batch) +
                             ", so the model takes batch-size dependent paths");
}

std::string describe_node(const torch::jit::Node& node) {
  std::ostringstream text;
  node.print(text, 0, nullptr, /*print_source_locations=*/false, /*print_attributes=*/true, /*print_scopes=*/false,
             /*print_body=*/false);
  auto line = text.str();
  while (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

std::map<std::string, int64_t> count_node_kinds(const torch::jit::Graph& graph) {
  std::map<std::string, int64_t> counts;
  for (const auto* node : graph.nodes()) ++counts[node->kind().toQualString()];
  return counts;
}

}  // namespace mltk::onnx_export
