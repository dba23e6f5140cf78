#pragma once
// The inputs and outputs of exported graphs: how they are named, the image input of an exported
// classifier as its file declares it, and the random inputs that exports and validations feed them.
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace mltk::runtime {

struct GraphImageInput {
  std::optional<int64_t> fixed_batch;  // absent when dimension 0 is symbolic or unknown
  std::vector<std::optional<int64_t>> sample_dims;
  bool takes_pixels = false;  // uint8 [N, H, W, C] (embedded preprocessing) rather than float [N, C, H, W]
};

// The first graph input that is not an initializer, read from the checked model file. Throws
// std::runtime_error naming the file when it cannot be loaded, has no such input or it has no shape.
GraphImageInput read_image_input(const std::string& onnx_path);
// The same, of a model already loaded and checked (load_checked_onnx_model) from `onnx_path`.
GraphImageInput image_input_of(const onnx::ModelProto& model, const std::string& onnx_path);

// "input" for the only one of `count` graph inputs, else "input_<index>"; likewise for outputs.
std::string graph_io_name(const std::string& stem, size_t index, size_t count);

// One standard-normal float tensor per shape, dimension 0 replaced by `batch_size`, drawn in order
// from `generator`. Throws std::invalid_argument for a shape without dimensions.
std::vector<torch::Tensor> standard_normal_inputs(const std::vector<std::vector<int64_t>>& shapes, int64_t batch_size,
                                                  at::Generator& generator);

}  // namespace mltk::runtime
