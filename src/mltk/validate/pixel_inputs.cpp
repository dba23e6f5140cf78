#include "mltk/validate/pixel_inputs.h"

#include <torch/torch.h>

namespace mltk::validate {

torch::Tensor normalise_pixels(const torch::Tensor& pixels, const checkpoint::Normalization& normalization) {
  const auto channel = [](const std::array<double, 3>& values) {
    return torch::tensor({values[0], values[1], values[2]}, torch::kFloat32);
  };
  return ((pixels.to(torch::kFloat32) / 255.0f - channel(normalization.mean)) / channel(normalization.std))
      .permute({0, 3, 1, 2})
      .contiguous();
}

PairedInputs paired_inputs(const torch::Tensor& pixels, const checkpoint::Normalization& normalization,
                           bool onnx_takes_pixels) {
  auto model = normalise_pixels(pixels, normalization);
  return {model, onnx_takes_pixels ? pixels.contiguous() : model};
}

torch::Tensor pixels_of_batch(const torch::Tensor& batch) {
  return batch.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

}  // namespace mltk::validate
