#include "mltk/onnx_export/quantization_params.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mltk::onnx_export {

Uint8Quantization uint8_quantization(const ActivationRange& range) {
  const double low = std::min<double>(range.min, 0.0);
  const double high = std::max<double>(range.max, 0.0);
  if (!(high > low)) return {};
  const auto scale = static_cast<float>((high - low) / 255.0);
  const double zero_point = std::nearbyint(-low / scale);  // the default rounding mode is half to even
  return {scale, static_cast<uint8_t>(std::clamp(zero_point, 0.0, 255.0))};
}

Int8Weights quantize_weights_per_channel(const at::Tensor& weight, int64_t axis) {
  const auto moved = weight.to(torch::kFloat).movedim(axis, 0);
  const auto absmax = moved.abs().reshape({moved.size(0), -1}).amax(1);
  const auto scales = torch::where(absmax > 0, absmax / 127.0, torch::ones_like(absmax));
  std::vector<int64_t> shape(weight.dim(), 1);
  shape[axis] = -1;
  const auto values = torch::round(weight.to(torch::kFloat) / scales.reshape(shape)).clamp(-127, 127).to(torch::kChar);
  return {values.contiguous(), scales.contiguous()};
}

Int32Bias quantize_bias(const at::Tensor& bias, float input_scale, const at::Tensor& weight_scales) {
  // The scale is the float product a runtime computes from the two scales it is given.
  const auto scales = weight_scales.to(torch::kFloat) * input_scale;
  const double limit = std::numeric_limits<int32_t>::max();
  const auto values = torch::round(bias.to(torch::kDouble) / scales.to(torch::kDouble)).clamp(-limit, limit);
  return {values.to(torch::kInt).contiguous(), scales.contiguous()};
}

}  // namespace mltk::onnx_export
