// Linear quantization between float and 8-bit (or, for DequantizeLinear, 32-bit) integers, with a
// scale and zero point per tensor or, from opset 13, per slice along one axis; its run-time form
// (DynamicQuantizeLinear) and the integer matrix product that reads it (MatMulInteger).
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <algorithm>

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

// Quantizes x to uint8 over its own range widened to include 0, returning y, the scale and the
// zero point (the spec's reference: scale = (max - min) / 255, zero point = round(-min / scale)).
std::vector<torch::Tensor> dynamic_quantize_linear(const OpContext& ctx) {
  const auto x = ctx.input(0).to(torch::kFloat);
  if (x.numel() == 0) ctx.fail("x is empty: it has no range to quantize");
  const float low = std::min(0.0F, x.min().item<float>());
  const float high = std::max(0.0F, x.max().item<float>());
  const float scale = (high - low) / 255.0F;
  // An all-zero input has no range: every value is the zero point 0, whatever the scale.
  if (scale == 0) {
    return {torch::zeros_like(x, torch::kByte), torch::zeros({}, torch::kFloat), torch::zeros({}, torch::kByte)};
  }
  const auto zero_point = torch::round(torch::tensor(-low / scale)).clamp(0, 255);
  const auto y = (torch::round(x / scale) + zero_point).clamp(0, 255).to(torch::kByte);
  return {y, torch::full({}, scale, torch::kFloat), zero_point.to(torch::kByte)};
}

// A zero point of MatMulInteger: a scalar, or one value per row of A (per column of B) shaped to
// broadcast against the operand it offsets.
torch::Tensor matmul_zero_point(const OpContext& ctx, size_t index, const torch::Tensor& operand, bool per_row) {
  if (!ctx.has_input(index)) return torch::zeros({}, torch::kDouble);
  const auto& zero_point = ctx.input(index);
  const char* name = per_row ? "a_zero_point" : "b_zero_point";
  if (zero_point.scalar_type() != operand.scalar_type()) ctx.fail(std::string(name) + " must have the type of its operand");
  if (zero_point.numel() == 1) return zero_point.reshape({}).to(torch::kDouble);
  if (zero_point.dim() == 1 && operand.dim() >= 2) {
    const int64_t expected = operand.size(per_row ? -2 : -1);
    if (zero_point.size(0) != expected)
      ctx.fail(std::string(name) + " has " + std::to_string(zero_point.size(0)) + " values; expected 1 or " +
               std::to_string(expected));
    return (per_row ? zero_point.unsqueeze(-1) : zero_point).to(torch::kDouble);
  }
  if (zero_point.dim() != operand.dim()) ctx.fail(std::string(name) + " must be a scalar, a vector or of A's rank");
  return zero_point.to(torch::kDouble);
}

// int32 (A - a_zero_point) @ (B - b_zero_point) with numpy matmul semantics. The 8-bit products
// and their sums are integers far below 2^53, so a double-precision product is exact.
std::vector<torch::Tensor> matmul_integer(const OpContext& ctx) {
  const auto& a = ctx.input(0);
  const auto& b = ctx.input(1);
  for (const auto& operand : {a, b}) {
    if (operand.scalar_type() != torch::kByte && operand.scalar_type() != torch::kChar)
      ctx.fail(std::string("inputs must be uint8 or int8, got ") + c10::toString(operand.scalar_type()));
  }
  if (a.dim() < 1 || b.dim() < 1) ctx.fail("inputs must have at least one dimension");
  const auto a_offset = a.to(torch::kDouble) - matmul_zero_point(ctx, 2, a, true);
  const auto b_offset = b.to(torch::kDouble) - matmul_zero_point(ctx, 3, b, false);
  if (a.size(-1) != (b.dim() == 1 ? b.size(0) : b.size(-2)))
    ctx.fail("A's last dimension does not match B's rows");
  return {torch::matmul(a_offset, b_offset).round().to(torch::kInt)};
}

}  // namespace

void register_quantize_ops(OperatorRegistry& registry) {
  registry.add("QuantizeLinear", quantize_linear);
  registry.add("DequantizeLinear", dequantize_linear);
  registry.add("DynamicQuantizeLinear", dynamic_quantize_linear);
  registry.add("MatMulInteger", matmul_integer);
}

}  // namespace mltk::runtime
