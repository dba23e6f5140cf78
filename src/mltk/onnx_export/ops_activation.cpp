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
std::string convert_hardswish_decomposed(ConversionContext& ctx) {
  const auto x = ctx.input(0);
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

// aten::prelu(self, weight): ONNX PRelu broadcasts the slope from the trailing dimensions, torch
// applies one slope per channel (dimension 1), so a per-channel slope is given trailing ones.
std::string convert_prelu(ConversionContext& ctx) {
  auto slope = ctx.input(1);
  const auto rank = ctx.rank(0);
  if (ctx.sizes(1).at(0) > 1 && rank > 2) slope = per_channel(ctx, slope, rank);
  return ctx.op("PRelu", {ctx.input(0), slope});
}

// aten::elu(self, alpha, scale, input_scale)
std::string convert_elu(ConversionContext& ctx) {
  if (ctx.double_arg(2) != 1.0 || ctx.double_arg(3) != 1.0)
    throw std::invalid_argument("elu with scale or input_scale other than 1 is not supported");
  return ctx.op("Elu", {ctx.input(0)}, {{"alpha", ctx.double_arg(1)}});
}

// aten::celu(self, alpha): Celu from opset 12.
std::string convert_celu(ConversionContext& ctx) {
  return ctx.op("Celu", {ctx.input(0)}, {{"alpha", ctx.double_arg(1)}});
}

// Before opset 12: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
std::string convert_celu_decomposed(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  const auto type = ctx.scalar_type(0);
  const auto alpha = ctx.scalar(ctx.double_arg(1), type), zero = ctx.scalar(0.0, type);
  const auto expm1 = ctx.op("Sub", {ctx.op("Exp", {ctx.op("Div", {x, alpha})}), ctx.scalar(1.0, type)});
  return ctx.op("Add", {ctx.op("Max", {x, zero}), ctx.op("Min", {ctx.op("Mul", {alpha, expm1}), zero})});
}

// aten::softplus(self, beta, threshold) = x where beta * x > threshold, else log(1 + exp(beta * x)) / beta.
std::string convert_softplus(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  const auto type = ctx.scalar_type(0);
  const auto beta = ctx.double_arg(1);
  const auto scaled = beta == 1.0 ? x : ctx.op("Mul", {x, ctx.scalar(beta, type)});
  auto soft = ctx.op("Softplus", {scaled});
  if (beta != 1.0) soft = ctx.op("Div", {soft, ctx.scalar(beta, type)});
  const auto linear = ctx.op("Greater", {scaled, ctx.scalar(ctx.double_arg(2), type)});
  return ctx.op("Where", {linear, x, soft});
}

// aten::mish(self) = x * tanh(softplus(x))
std::string convert_mish(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  return ctx.op("Mul", {x, ctx.op("Tanh", {ctx.op("Softplus", {x})})});
}

// aten::log_sigmoid(self) = -softplus(-x)
std::string convert_log_sigmoid(ConversionContext& ctx) {
  return ctx.op("Neg", {ctx.op("Softplus", {ctx.op("Neg", {ctx.input(0)})})});
}

// aten::threshold(self, threshold, value) = x where x > threshold, else value.
std::string convert_threshold(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  const auto type = ctx.scalar_type(0);
  const auto keep = ctx.op("Greater", {x, ctx.scalar(ctx.double_arg(1), type)});
  return ctx.op("Where", {keep, x, ctx.scalar(ctx.double_arg(2), type)});
}

}  // namespace

void register_activation_ops(ConverterRegistry& registry) {
  registry.add("aten::relu", {"Relu"}, unary_converter("Relu"));
  // A trace rebinds every later use of an in-place operator's operand to the operator's output,
  // so the in-place forms convert like the out-of-place ones.
  registry.add("aten::relu_", {"Relu"}, unary_converter("Relu"));
  registry.add("aten::sigmoid", {"Sigmoid"}, unary_converter("Sigmoid"));
  registry.add("aten::tanh", {"Tanh"}, unary_converter("Tanh"));
  registry.add("aten::hardsigmoid", {"HardSigmoid"}, convert_hardsigmoid);
  registry.add("aten::hardswish", {"HardSigmoid", "Mul"}, convert_hardswish_decomposed, {11, 13});
  registry.add("aten::hardswish", {"HardSwish"}, unary_converter("HardSwish"), {14, kMaxOpset});
  registry.add("aten::silu", {"Sigmoid", "Mul"}, convert_silu);
  registry.add("aten::gelu", {"Erf", "Div", "Mul", "Add", "Tanh"}, convert_gelu);
  registry.add("aten::hardtanh", {"Clip"}, convert_hardtanh);
  registry.add("aten::relu6", {"Clip"}, convert_relu6);
  registry.add("aten::leaky_relu", {"LeakyRelu"}, convert_leaky_relu);
  registry.add("aten::prelu", {"PRelu", "Reshape"}, convert_prelu);
  registry.add("aten::elu", {"Elu"}, convert_elu);
  registry.add("aten::selu", {"Selu"}, unary_converter("Selu"));
  registry.add("aten::celu", {"Exp", "Div", "Sub", "Max", "Min", "Mul", "Add"}, convert_celu_decomposed, {11, 11});
  registry.add("aten::celu", {"Celu"}, convert_celu, {12, kMaxOpset});
  registry.add("aten::softplus", {"Softplus", "Mul", "Div", "Greater", "Where"}, convert_softplus);
  registry.add("aten::softsign", {"Softsign"}, unary_converter("Softsign"));
  registry.add("aten::mish", {"Softplus", "Tanh", "Mul"}, convert_mish);
  registry.add("aten::log_sigmoid", {"Neg", "Softplus"}, convert_log_sigmoid);
  registry.add("aten::threshold", {"Greater", "Where"}, convert_threshold);
  // In-place forms, as aten::relu_ above.
  registry.add("aten::sigmoid_", {"Sigmoid"}, unary_converter("Sigmoid"));
  registry.add("aten::tanh_", {"Tanh"}, unary_converter("Tanh"));
  registry.add("aten::hardtanh_", {"Clip"}, convert_hardtanh);
  registry.add("aten::leaky_relu_", {"LeakyRelu"}, convert_leaky_relu);
  registry.add("aten::elu_", {"Elu"}, convert_elu);
  registry.add("aten::selu_", {"Selu"}, unary_converter("Selu"));
  registry.add("aten::silu_", {"Sigmoid", "Mul"}, convert_silu);
  registry.add("aten::hardsigmoid_", {"HardSigmoid"}, convert_hardsigmoid);
  registry.add("aten::hardswish_", {"HardSigmoid", "Mul"}, convert_hardswish_decomposed, {11, 13});
  registry.add("aten::hardswish_", {"HardSwish"}, unary_converter("HardSwish"), {14, kMaxOpset});
  registry.add("aten::threshold_", {"Greater", "Where"}, convert_threshold);
}

}  // namespace mltk::onnx_export
