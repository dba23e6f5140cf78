#include "mltk/onnx_export/graph_editing.h"

#include "mltk/onnx_export/tensor_proto.h"

namespace mltk::onnx_export {

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attribute : node.attribute())
    if (attribute.name() == name) return &attribute;
  return nullptr;
}

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const auto* attribute = find_attribute(node, name);
  return attribute ? attribute->i() : fallback;
}

float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const auto* attribute = find_attribute(node, name);
  return attribute ? attribute->f() : fallback;
}

std::map<std::string, const onnx::TensorProto*> initializers_by_name(const onnx::GraphProto& graph) {
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& initializer : graph.initializer()) initializers[initializer.name()] = &initializer;
  return initializers;
}

onnx::NodeProto make_node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::map<std::string, int64_t>& attributes) {
  onnx::NodeProto node;
  node.set_op_type(op_type);
  if (!outputs.empty()) node.set_name(outputs.front());
  for (const auto& input : inputs) node.add_input(input);
  for (const auto& output : outputs) node.add_output(output);
  for (const auto& [name, value] : attributes) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INT);
    attribute->set_i(value);
  }
  return node;
}

void add_initializer(onnx::GraphProto& graph, const std::string& name, const at::Tensor& value) {
  *graph.add_initializer() = to_tensor_proto(value, name);
}

}  // namespace mltk::onnx_export
