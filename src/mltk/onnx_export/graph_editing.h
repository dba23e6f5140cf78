#pragma once
// Reading and building nodes and initializers of an ONNX graph, for the passes that rewrite an
// exported float graph (quantization).
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mltk::onnx_export {

// The node's attribute `name` when the node has one.
const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name);
int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback);

// The graph's initializers by name, pointing into `graph`.
std::map<std::string, const onnx::TensorProto*> initializers_by_name(const onnx::GraphProto& graph);

// A default-domain node named after its first output, with integer attributes.
onnx::NodeProto make_node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::map<std::string, int64_t>& attributes = {});

// Appends an initializer holding `value`.
void add_initializer(onnx::GraphProto& graph, const std::string& name, const at::Tensor& value);

}  // namespace mltk::onnx_export
