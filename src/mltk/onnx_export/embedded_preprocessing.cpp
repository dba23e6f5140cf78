#include "mltk/onnx_export/embedded_preprocessing.h"

#include "mltk/onnx_export/model_writer.h"
#include "mltk/runtime/onnx_model_loader.h"

#include <torch/types.h>

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

constexpr const char* kNetworkInput = "input";
constexpr const char* kNetworkOutput = "output";

onnx::NodeProto node(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto out;
  out.set_op_type(op_type);
  out.set_name("preprocessing/" + op_type + "/" + output);
  for (const auto& input : inputs) out.add_input(input);
  out.add_output(output);
  return out;
}

void set_int_attribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

torch::Tensor float_constant(const std::array<double, 3>& values) {
  return torch::tensor({values[0], values[1], values[2]}, torch::kFloat32);
}

// [N, 3, H, W] float -> [N, H, W, 3] uint8, keeping the batch dimension's value or name.
onnx::ValueInfoProto image_input(const onnx::ValueInfoProto& network_input) {
  const auto& dims = network_input.type().tensor_type().shape().dim();
  if (dims.size() != 4 || !dims[1].has_dim_value() || dims[1].dim_value() != 3)
    throw std::invalid_argument("embedded preprocessing needs an RGB image input [N, 3, H, W]");
  onnx::ValueInfoProto image;
  image.set_name(kImageInput);
  auto* tensor = image.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::UINT8);
  auto* shape = tensor->mutable_shape();
  for (const int source : {0, 2, 3, 1}) *shape->add_dim() = dims[source];
  return image;
}

}  // namespace

void embed_preprocessing(onnx::GraphProto& graph, const checkpoint::Normalization& normalization,
                         DeferredInitializers& initializer_data) {
  if (graph.input_size() != 1 || graph.input(0).name() != kNetworkInput || graph.output_size() != 1 ||
      graph.output(0).name() != kNetworkOutput)
    throw std::logic_error("embed_preprocessing expects the graph inputs and outputs declare_graph_io declares");
  const onnx::ValueInfoProto image = image_input(graph.input(0));

  add_deferred_initializer(graph, initializer_data, "preprocessing.pixel_scale", torch::tensor(255.0f));
  add_deferred_initializer(graph, initializer_data, "preprocessing.mean", float_constant(normalization.mean));
  add_deferred_initializer(graph, initializer_data, "preprocessing.std", float_constant(normalization.std));
  std::vector<onnx::NodeProto> preprocessing;
  preprocessing.push_back(node("Cast", {kImageInput}, "preprocessing.pixels"));
  set_int_attribute(preprocessing.back(), "to", onnx::TensorProto::FLOAT);
  preprocessing.push_back(node("Div", {"preprocessing.pixels", "preprocessing.pixel_scale"}, "preprocessing.unit"));
  preprocessing.push_back(node("Sub", {"preprocessing.unit", "preprocessing.mean"}, "preprocessing.centred"));
  preprocessing.push_back(node("Div", {"preprocessing.centred", "preprocessing.std"}, "preprocessing.normalised"));
  preprocessing.push_back(node("Transpose", {"preprocessing.normalised"}, kNetworkInput));
  auto* perm = preprocessing.back().add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  for (const int64_t axis : {0, 3, 1, 2}) perm->add_ints(axis);

  // Nodes must stay topologically sorted: the preprocessing goes first.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> network;
  network.Swap(graph.mutable_node());
  for (auto& step : preprocessing) *graph.add_node() = std::move(step);
  for (auto& step : network) {
    for (auto& output : *step.mutable_output())
      if (output == kNetworkOutput) output = kLogitsOutput;
    for (auto& input : *step.mutable_input())
      if (input == kNetworkOutput) input = kLogitsOutput;
    *graph.add_node() = std::move(step);
  }
  auto softmax = node("Softmax", {kLogitsOutput}, kProbabilitiesOutput);
  softmax.set_name("postprocessing/Softmax");
  set_int_attribute(softmax, "axis", 1);
  *graph.add_node() = std::move(softmax);

  *graph.mutable_input(0) = image;
  graph.mutable_output(0)->set_name(kLogitsOutput);
  onnx::ValueInfoProto probabilities = graph.output(0);
  probabilities.set_name(kProbabilitiesOutput);
  *graph.add_output() = std::move(probabilities);
}

void embed_preprocessing_in_file(const std::string& path, const checkpoint::Normalization& normalization) {
  auto model = runtime::load_onnx_model(path);
  DeferredInitializers initializer_data;
  embed_preprocessing(*model.mutable_graph(), normalization, initializer_data);
  model.mutable_graph()->clear_value_info();
  validate_model(model, initializer_data);
  write_model_atomically(model, path, initializer_data);
}

}  // namespace mltk::onnx_export
