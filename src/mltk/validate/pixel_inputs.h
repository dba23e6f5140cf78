#pragma once
// The same images for both sides of a validation: the LibTorch model takes normalised float
// [N, 3, H, W]; an ONNX file takes the same, or, with embedded preprocessing, the uint8 pixels
// [N, H, W, 3] it normalises itself.
#include "mltk/checkpoint/checkpoint.h"

#include <torch/types.h>

namespace mltk::validate {

struct PairedInputs {
  torch::Tensor model;  // normalised float [N, 3, H, W]
  torch::Tensor onnx;   // what the file's graph input takes
};

// (pixels / 255 - mean) / std, transposed to [N, 3, H, W]: the operations, in float32 and in this
// order, that an embedded-preprocessing graph performs.
torch::Tensor normalise_pixels(const torch::Tensor& pixels, const checkpoint::Normalization& normalization);

// uint8 [N, H, W, 3] pixels as each side takes them.
PairedInputs paired_inputs(const torch::Tensor& pixels, const checkpoint::Normalization& normalization,
                           bool onnx_takes_pixels);

// A batch of ValidationImages (pixel values held as float [N, 3, H, W]) as uint8
// [N, H, W, 3].
torch::Tensor pixels_of_batch(const torch::Tensor& batch);

}  // namespace mltk::validate
