#include "mltk/onnx_export/convert_graph.h"

#include "mltk/onnx_export/converters.h"
#include "mltk/runtime/graph_input.h"

#include <torch/csrc/jit/ir/constants.h>

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

std::string opset_text(int opset) { return "ONNX opset " + std::to_string(opset); }

// Where a node was met. A trace of C++ code records neither scopes nor source ranges, so the
// parameter read just before is the most useful pointer into the model, next to the node itself.
std::string location(const torch::jit::Node& node, const ConversionContext& ctx) {
  auto printed = "met at node `" + describe_node(node) + "`";
  // Node::scope() is not const-qualified in LibTorch 1.13 although it only reads.
  const auto scope = const_cast<torch::jit::Node&>(node).scope();
  if (!scope->isBlank()) printed += " in scope '" + scope->namesFromRoot() + "'";
  printed += ctx.last_parameter().empty() ? " (before any parameter is read)"
                                          : " (after the operation reading parameter '" + ctx.last_parameter() + "')";
  return printed;
}

std::string unsupported_operator_message(const torch::jit::Node& node, const ConversionContext& ctx) {
  const std::string name = node.kind().toQualString();
  const auto opsets = converter_registry().opsets_of(name);
  if (!opsets.empty())
    return "Operator '" + name + "' cannot be exported at " + opset_text(ctx.opset()) + ", " + location(node, ctx) +
           ". It converts at opsets " + std::to_string(opsets.front()) + ".." + std::to_string(opsets.back()) +
           ": use --opset_version " + std::to_string(opsets.front() > ctx.opset() ? opsets.front() : opsets.back()) + ".";
  return "Unsupported operator '" + name + "' at " + opset_text(ctx.opset()) + ", " + location(node, ctx) +
         ". Remedies: try another --opset_version between " + std::to_string(kMinOpset) + " and " +
         std::to_string(kMaxOpset) +
         ", or replace the operation in the model's forward() with standard ones (convolution, matmul, "
         "element-wise arithmetic, reshape/permute, the usual activations and normalisations); "
         "docs/ml-export.md lists the operators the exporter converts.";
}

void convert_node(ConversionContext& ctx, const torch::jit::Node& node) {
  const auto kind = node.kind();
  if (kind == c10::prim::Constant) {
    auto value = torch::jit::toIValue(node.output());
    if (!value) throw std::runtime_error("a constant of type " + node.output()->type()->str() + " cannot be exported");
    ctx.bind_static(node.output(), *value);
    return;
  }
  // ConstantPropagation has already folded lists of constants (int[] strides, ...) into
  // prim::Constant; a list still constructed holds run-time values, e.g. the tensors to concatenate.
  if (kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct)
    return ctx.bind_sequence(node.output(), {node.inputs().begin(), node.inputs().end()});
  if (kind == c10::prim::ListUnpack || kind == c10::prim::TupleUnpack) {
    if (ctx.is_tensor_list(node.input())) {
      const auto names = ctx.input_list(0);
      for (size_t i = 0; i < node.outputs().size(); ++i) ctx.bind_tensor(node.output(i), names.at(i));
      return;
    }
    const auto& elements = ctx.sequence(node.input());
    for (size_t i = 0; i < node.outputs().size(); ++i) ctx.bind_alias(node.output(i), elements.at(i));
    return;
  }
  // Conversions between 0-d tensors and numbers change nothing in ONNX, where both are tensors.
  if (kind == c10::prim::NumToTensor || kind == c10::aten::Int || kind == c10::aten::ScalarImplicit ||
      kind == c10::aten::Float)
    return ctx.bind_alias(node.output(), node.input());

  const auto* entry = converter_registry().find(kind.toQualString(), ctx.opset());
  if (entry == nullptr) throw std::runtime_error(unsupported_operator_message(node, ctx));
  if (entry->result != ResultKind::Outputs && node.outputs().size() != 1)
    throw std::runtime_error(std::string(kind.toQualString()) + " has " + std::to_string(node.outputs().size()) +
                             " outputs where its converter expects one");
  try {
    switch (entry->result) {
      case ResultKind::Tensor:
        ctx.bind_tensor(node.output(), entry->convert(ctx));
        break;
      case ResultKind::TensorList:
        ctx.bind_tensor_list(node.output(), entry->convert_many(ctx));
        break;
      case ResultKind::Outputs: {
        const auto names = entry->convert_many(ctx);
        if (names.size() != node.outputs().size())
          throw std::logic_error(std::string(kind.toQualString()) + " converter returned " +
                                 std::to_string(names.size()) + " results for " +
                                 std::to_string(node.outputs().size()) + " outputs");
        for (size_t i = 0; i < names.size(); ++i) ctx.bind_tensor(node.output(i), names[i]);
        break;
      }
    }
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error("Cannot convert '" + std::string(kind.toQualString()) + "' at " +
                             opset_text(ctx.opset()) + ", " + location(node, ctx) + ": " + error.what());
  }
}

// The graph's results in order, a returned tuple or list contributing its elements.
void flatten_results(ConversionContext& ctx, const torch::jit::Value* value, std::vector<std::string>& names) {
  if (ctx.is_tensor_list(value)) {
    for (auto& name : ctx.tensor_list(value)) names.push_back(name);
    return;
  }
  if (ctx.is_sequence(value)) {
    for (const auto* element : ctx.sequence(value)) flatten_results(ctx, element, names);
    return;
  }
  if (!value->type()->cast<c10::TensorType>() && !ctx.is_static(value))
    throw std::runtime_error("the forward returns a " + value->type()->str() +
                             "; only tensors and tuples or lists of tensors can be graph outputs");
  names.push_back(ctx.tensor(value));
}

}  // namespace

onnx::GraphProto convert_graph(const TracedModule& traced, int opset, DeferredInitializers& initializer_data) {
  onnx::GraphProto graph;
  graph.set_name("mltk");
  ConversionContext ctx(graph, initializer_data, opset);

  const auto inputs = traced.graph->inputs();
  if (inputs.size() != traced.input_count + traced.parameters.size())
    throw std::logic_error("the graph has " + std::to_string(inputs.size()) + " inputs for " +
                           std::to_string(traced.input_count) + " inputs and " +
                           std::to_string(traced.parameters.size()) + " parameters");
  for (size_t i = 0; i < traced.input_count; ++i) ctx.bind_tensor(inputs[i], runtime::graph_io_name("input", i, traced.input_count));
  std::map<const torch::jit::Value*, std::string> parameter_names;
  for (size_t i = 0; i < traced.parameters.size(); ++i) {
    const auto& [name, tensor] = traced.parameters[i];
    const auto* value = inputs[traced.input_count + i];
    ctx.bind_tensor(value, name);
    ctx.add_initializer(name, tensor);
    parameter_names[value] = name;
  }
  ctx.set_parameter_names(std::move(parameter_names));

  for (const auto* node : traced.graph->nodes()) {
    ctx.set_node(node);
    convert_node(ctx, *node);
  }

  std::vector<std::string> results;
  for (const auto* output : traced.graph->outputs()) flatten_results(ctx, output, results);
  if (results.size() != traced.outputs.size())
    throw std::runtime_error("the traced forward returns " + std::to_string(traced.outputs.size()) +
                             " tensors but its graph has " + std::to_string(results.size()) + " results");
  for (size_t i = 0; i < results.size(); ++i) {
    auto* identity = graph.add_node();
    identity->set_op_type("Identity");
    identity->set_name(runtime::graph_io_name("output", i, results.size()) + "_identity");
    identity->add_input(results[i]);
    identity->add_output(runtime::graph_io_name("output", i, results.size()));
  }
  return graph;
}

}  // namespace mltk::onnx_export
