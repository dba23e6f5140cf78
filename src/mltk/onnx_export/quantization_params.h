#pragma once
// Scales and zero points of static int8 quantization: activations as uint8 with a zero point
// (asymmetric, per tensor), weights as int8 around zero (symmetric, per output channel).
#include <torch/types.h>

#include <cstdint>

namespace mltk::onnx_export {

// The observed value range of one activation over the calibration images.
struct ActivationRange {
  float min = 0;
  float max = 0;
};

struct Uint8Quantization {
  float scale = 1;
  uint8_t zero_point = 0;
};

// Maps [min(range.min, 0), max(range.max, 0)] onto 0..255 (zero must be exactly representable so
// that zero padding and ReLU's zeros stay exact): scale = (high - low) / 255,
// zero_point = round_half_even(-low / scale). A range of a single value gets scale 1.
Uint8Quantization uint8_quantization(const ActivationRange& range);

// Per output channel (slices along `axis`): scale = max|w| / 127 (1 for an all-zero channel), so
// the int8 weights lie in [-127, 127] with a zero point of 0.
struct Int8Weights {
  at::Tensor values;  // int8, shape of the weight
  at::Tensor scales;  // float, one per slice along axis
};
Int8Weights quantize_weights_per_channel(const at::Tensor& weight, int64_t axis);

// A bias added to the int32 accumulator of input (scale input_scale) times weight (scales
// weight_scales): int32 with scale input_scale * weight_scales[c] and zero point 0.
struct Int32Bias {
  at::Tensor values;  // int32
  at::Tensor scales;  // float
};
Int32Bias quantize_bias(const at::Tensor& bias, float input_scale, const at::Tensor& weight_scales);

}  // namespace mltk::onnx_export
