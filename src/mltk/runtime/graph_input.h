#pragma once
// The image input of an exported classifier as its ONNX file declares it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mltk::runtime {

struct GraphImageInput {
  std::optional<int64_t> fixed_batch;  // absent when dimension 0 is symbolic or unknown
  std::vector<std::optional<int64_t>> sample_dims;
  bool takes_pixels = false;  // uint8 [N, H, W, C] (embedded preprocessing) rather than float [N, C, H, W]
};

// The first graph input that is not an initializer, read from the checked model file. Throws
// std::runtime_error naming the file when it cannot be loaded, has no such input or it has no shape.
GraphImageInput read_image_input(const std::string& onnx_path);

}  // namespace mltk::runtime
