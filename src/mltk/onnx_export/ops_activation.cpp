// Element-wise activations. Those ONNX gained late are decomposed for older opsets.
#include "mltk/onnx_export/converters.h"

#include <cmath>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// torch's hardsigmoid is relu6(x + 3) / 6, which is ONNX HardSigmoid with alpha 1/6, beta 0.5.
std::string hard_sigmoid(ConversionContext& ctx, const std::string& x) {
  return ctx.op("HardSigmoid", {x}, {{"alpha", 1.0 / 6.0}, {"beta", 0.5}});
}

// aten::hardsigmoid(x)
std::string convert_hardsigmoid(ConversionContext& ctx) { return hard_sigmoid(ctx, ctx.input(0)); }

// aten::hardswish(x): HardSwish exists from opset 14; before, x * hardsigmoid(x).
std::string convert_hardswish(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  if (ctx.opset() >= 14) return ctx.op("HardSwish", {x});
  return ctx.op("Mul", {x, hard_sigmoid(ctx, x)});
}

// aten::silu(x) = x * sigmoid(x); ONNX has no SiLU/Swish operator.
std::string convert_silu(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  return ctx.op("Mul", {x, ctx.op("Sigmoid", {x})});
}

// aten::gelu(x, approximate): ONNX Gelu only arrives in opset 20, so always decompose:
// exact 0.5*x*(1+erf(x/sqrt(2))), or the tanh form 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3))).
std::string convert_gelu(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  const auto type = ctx.scalar_type(0);
  const auto approximate = ctx.node().inputs().size() > 1 ? ctx.string_arg(1) : std::string("none");
  std::string inner;
  if (approximate == "none") {
    inner = ctx.op("Erf", {ctx.op("Div", {x, ctx.scalar(std::sqrt(2.0), type)})});
  } else if (approximate == "tanh") {
    const auto cube = ctx.op("Mul", {ctx.op("Mul", {x, x}), x});
    const auto sum = ctx.op("Add", {x, ctx.op("Mul", {cube, ctx.scalar(0.044715, type)})});
    inner = ctx.op("Tanh", {ctx.op("Mul", {sum, ctx.scalar(std::sqrt(2.0 / M_PI), type)})});
  } else {
    throw std::invalid_argument("aten::gelu: unknown approximation '" + approximate + "'");
  }
  const auto one_plus = ctx.op("Add", {inner, ctx.scalar(1.0, type)});
  return ctx.op("Mul", {ctx.op("Mul", {x, ctx.scalar(0.5, type)}), one_plus});
}

// Clip takes its bounds as inputs (of the input's dtype) since opset 11.
std::string clip(ConversionContext& ctx, double min, double max) {
  const auto type = ctx.scalar_type(0);
  return ctx.op("Clip", {ctx.input(0), ctx.scalar(min, type), ctx.scalar(max, type)});
}

// aten::hardtanh(x, min_val, max_val)
std::string convert_hardtanh(ConversionContext& ctx) { return clip(ctx, ctx.double_arg(1), ctx.double_arg(2)); }

// aten::relu6(x)
std::string convert_relu6(ConversionContext& ctx) { return clip(ctx, 0.0, 6.0); }

// aten::leaky_relu(x, negative_slope)
std::string convert_leaky_relu(ConversionContext& ctx) {
  return ctx.op("LeakyRelu", {ctx.input(0)}, {{"alpha", ctx.double_arg(1)}});
}

}  // namespace

void register_activation_ops(ConverterRegistry& registry) {
  registry["aten::relu"] = unary_converter("Relu");
  // A trace rebinds every later use of an in-place operator's operand to the operator's output,
  // so the in-place forms convert like the out-of-place ones.
  registry["aten::relu_"] = registry["aten::relu"];
  registry["aten::sigmoid"] = unary_converter("Sigmoid");
  registry["aten::tanh"] = unary_converter("Tanh");
  registry["aten::hardsigmoid"] = convert_hardsigmoid;
  registry["aten::hardswish"] = convert_hardswish;
  registry["aten::silu"] = convert_silu;
  registry["aten::gelu"] = convert_gelu;
  registry["aten::hardtanh"] = convert_hardtanh;
  registry["aten::relu6"] = convert_relu6;
  registry["aten::leaky_relu"] = convert_leaky_relu;
}

}  // namespace mltk::onnx_export
