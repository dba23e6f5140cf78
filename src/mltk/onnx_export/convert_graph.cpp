#include "mltk/onnx_export/convert_graph.h"

#include "mltk/onnx_export/converters.h"

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
  return "Unsupported operator '" + std::string(node.kind().toQualString()) + "' at " + opset_text(ctx.opset()) +
         ", " + location(node, ctx) +
         ". Remedies: try another --opset_version between " + std::to_string(kMinOpset) + " and " +
         std::to_string(kMaxOpset) +
         ", or replace the operation in the model's forward() with standard ones (convolution, matmul, "
         "element-wise arithmetic, reshape/permute, the usual activations and normalisations).";
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

  const auto& registry = converter_registry();
  const auto& list_registry = list_converter_registry();
  const auto converter = registry.find(kind.toQualString());
  const auto list_converter = list_registry.find(kind.toQualString());
  if (converter == registry.end() && list_converter == list_registry.end())
    throw std::runtime_error(unsupported_operator_message(node, ctx));
  if (node.outputs().size() != 1)
    throw std::runtime_error(std::string(kind.toQualString()) + " has " + std::to_string(node.outputs().size()) +
                             " outputs; the exporter converts single-output operators only");
  try {
    if (converter != registry.end())
      ctx.bind_tensor(node.output(), converter->second(ctx));
    else
      ctx.bind_tensor_list(node.output(), list_converter->second(ctx));
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error("Cannot convert '" + std::string(kind.toQualString()) + "' at " +
                             opset_text(ctx.opset()) + ", " + location(node, ctx) + ": " + error.what());
  }
}

}  // namespace

onnx::GraphProto convert_graph(const TracedModule& traced, int opset, DeferredInitializers& initializer_data) {
  onnx::GraphProto graph;
  graph.set_name("mltk");
  ConversionContext ctx(graph, initializer_data, opset);

  const auto inputs = traced.graph->inputs();
  ctx.bind_tensor(inputs[0], "input");
  std::map<const torch::jit::Value*, std::string> parameter_names;
  for (size_t i = 0; i < traced.parameters.size(); ++i) {
    const auto& [name, tensor] = traced.parameters[i];
    ctx.bind_tensor(inputs[i + 1], name);
    ctx.add_initializer(name, tensor);
    parameter_names[inputs[i + 1]] = name;
  }
  ctx.set_parameter_names(std::move(parameter_names));

  for (const auto* node : traced.graph->nodes()) {
    ctx.set_node(node);
    convert_node(ctx, *node);
  }

  const auto outputs = traced.graph->outputs();
  if (outputs.size() != 1 || !outputs[0]->type()->cast<c10::TensorType>())
    throw std::runtime_error("the traced forward must return exactly one tensor");
  auto* identity = graph.add_node();
  identity->set_op_type("Identity");
  identity->set_name("output_identity");
  identity->add_input(ctx.tensor(outputs[0]));
  identity->add_output("output");
  return graph;
}

}  // namespace mltk::onnx_export
