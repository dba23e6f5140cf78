// Linear quantization between float and 8-bit (or, for DequantizeLinear, 32-bit) integers, with a
// scale and zero point per tensor or, from opset 13, per slice along one axis.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

namespace mltk::runtime {
namespace {

// Reshapes a per-axis parameter (a 1-D tensor of length dims[axis]) so that it broadcasts along
// `axis` of `data`; a scalar (or one-element) parameter applies to the whole tensor.
torch::Tensor broadcastable(const OpContext& ctx, const torch::Tensor& parameter, const torch::Tensor& data,
                            const char* what) {
  if (parameter.dim() == 0 || (parameter.dim() == 1 && parameter.numel() == 1 && ctx.opset() < 13))
    return parameter.reshape({});
  if (ctx.opset() < 13) ctx.fail(std::string(what) + " must be a scalar before opset 13");
  if (parameter.dim() != 1) ctx.fail(std::string(what) + " must be a scalar or a 1-D tensor");
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 1), data.dim());
  if (parameter.size(0) != data.size(axis)) {
    ctx.fail(std::string(what) + " has " + std::to_string(parameter.size(0)) + " values but axis " +
             std::to_string(axis) + " of the input has " + std::to_string(data.size(axis)));
  }
  std::vector<int64_t> shape(data.dim(), 1);
  shape[axis] = -1;
  return parameter.reshape(shape);
}

// y = saturate(round_half_to_even(x / scale) + zero_point); the zero point's type (uint8 when
// absent) is the output type.
std::vector<torch::Tensor> quantize_linear(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const auto output_type = ctx.has_input(2) ? ctx.input(2).scalar_type() : torch::kByte;
  if (output_type != torch::kByte && output_type != torch::kChar)
    ctx.fail(std::string("y_zero_point must be uint8 or int8, got ") + c10::toString(output_type));
  const auto scale = broadcastable(ctx, ctx.input(1).to(torch::kFloat), x, "y_scale");
  const auto zero_point = ctx.has_input(2) ? broadcastable(ctx, ctx.input(2), x, "y_zero_point").to(torch::kFloat)
                                           : torch::zeros({}, torch::kFloat);
  // torch::round rounds halves to even, as the specification requires.
  const auto unclamped = torch::round(x.to(torch::kFloat) / scale) + zero_point;
  const double low = output_type == torch::kByte ? 0 : -128;
  const double high = output_type == torch::kByte ? 255 : 127;
  return {unclamped.clamp(low, high).to(output_type)};
}

// y = (x - zero_point) * scale, as float.
std::vector<torch::Tensor> dequantize_linear(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const auto type = x.scalar_type();
  if (type != torch::kByte && type != torch::kChar && type != torch::kInt)
    ctx.fail(std::string("x must be uint8, int8 or int32, got ") + c10::toString(type));
  const auto scale = broadcastable(ctx, ctx.input(1).to(torch::kFloat), x, "x_scale");
  if (!ctx.has_input(2)) return {x.to(torch::kFloat) * scale};
  if (ctx.input(2).scalar_type() != type) ctx.fail("x_zero_point must have the type of x");
  const auto zero_point = broadcastable(ctx, ctx.input(2), x, "x_zero_point");
  // The difference is exact in int32 for 8-bit inputs, and int32 inputs have a zero point of 0.
  return {(x.to(torch::kInt) - zero_point.to(torch::kInt)).to(torch::kFloat) * scale};
}

}  // namespace

void register_quantize_ops(OperatorRegistry& registry) {
  registry.add("QuantizeLinear", quantize_linear);
  registry.add("DequantizeLinear", dequantize_linear);
}

}  // namespace mltk::runtime
