#include "mltk/runtime/graph_input.h"

#include "mltk/runtime/onnx_model_checks.h"

#include <set>
#include <stdexcept>

namespace mltk::runtime {

GraphImageInput read_image_input(const std::string& onnx_path) {
  return image_input_of(load_checked_onnx_model(onnx_path), onnx_path);
}

GraphImageInput image_input_of(const onnx::ModelProto& model, const std::string& onnx_path) {
  std::set<std::string> initializers;
  for (const auto& tensor : model.graph().initializer()) initializers.insert(tensor.name());
  for (const auto& input : model.graph().input()) {
    if (initializers.count(input.name())) continue;
    const auto& dims = input.type().tensor_type().shape().dim();
    if (dims.empty()) throw std::runtime_error(onnx_path + ": graph input '" + input.name() + "' has no shape");
    const auto fixed = [](const onnx::TensorShapeProto_Dimension& dim) {
      return dim.has_dim_value() ? std::optional<int64_t>(dim.dim_value()) : std::nullopt;
    };
    GraphImageInput result{fixed(dims[0]), {}, input.type().tensor_type().elem_type() == onnx::TensorProto::UINT8};
    for (int i = 1; i < dims.size(); ++i) result.sample_dims.push_back(fixed(dims[i]));
    return result;
  }
  throw std::runtime_error(onnx_path + ": the graph has no input besides its initializers");
}

std::string graph_io_name(const std::string& stem, size_t index, size_t count) {
  return count == 1 ? stem : stem + "_" + std::to_string(index);
}

std::vector<torch::Tensor> standard_normal_inputs(const std::vector<std::vector<int64_t>>& shapes, int64_t batch_size,
                                                  at::Generator& generator) {
  std::vector<torch::Tensor> inputs;
  for (auto shape : shapes) {
    if (shape.empty()) throw std::invalid_argument("an input shape needs at least one dimension (the batch)");
    shape[0] = batch_size;
    inputs.push_back(torch::randn(shape, generator, torch::kFloat32));
  }
  return inputs;
}

}  // namespace mltk::runtime
