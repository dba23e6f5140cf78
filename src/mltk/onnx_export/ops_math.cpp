// Element-wise mathematics, comparisons, logical operators and selection.
#include "mltk/onnx_export/converters.h"

#include "mltk/onnx_export/tensor_proto.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// Both operands of a binary operator, a Python scalar taking the dtype of the tensor operand.
std::pair<std::string, std::string> operands(ConversionContext& ctx) {
  if (ctx.is_static(ctx.node().input(0)) && !ctx.is_static(ctx.node().input(1)))
    return {ctx.input_like(0, 1), ctx.input(1)};
  return {ctx.input(0), ctx.input_like(1, 0)};
}

Converter binary(const std::string& onnx_type) {
  return [onnx_type](ConversionContext& ctx) {
    const auto [a, b] = operands(ctx);
    return ctx.op(onnx_type, {a, b});
  };
}

// A comparison ONNX lacks at an opset, as the negation of its complement: a >= b is not(a < b).
Converter negated(const std::string& complement) {
  return [complement](ConversionContext& ctx) {
    const auto [a, b] = operands(ctx);
    return ctx.op("Not", {ctx.op(complement, {a, b})});
  };
}

std::string as_bool(ConversionContext& ctx, size_t index) {
  if (ctx.scalar_type(index) == at::kBool) return ctx.input(index);
  return ctx.op("Cast", {ctx.input(index)}, {{"to", int64_t{onnx_data_type(at::kBool)}}});
}

// aten::logical_and/or/xor(self, other): ONNX's logical operators take booleans only.
Converter logical(const std::string& onnx_type) {
  return [onnx_type](ConversionContext& ctx) { return ctx.op(onnx_type, {as_bool(ctx, 0), as_bool(ctx, 1)}); };
}

// aten::logical_not(self)
std::string convert_logical_not(ConversionContext& ctx) { return ctx.op("Not", {as_bool(ctx, 0)}); }

// aten::rsqrt(self) = 1 / sqrt(self)
std::string convert_rsqrt(ConversionContext& ctx) {
  return ctx.op("Reciprocal", {ctx.op("Sqrt", {ctx.input(0)})});
}

// aten::log1p(self) = log(1 + self)
std::string convert_log1p(ConversionContext& ctx) {
  return ctx.op("Log", {ctx.op("Add", {ctx.input(0), ctx.scalar(1.0, ctx.scalar_type(0))})});
}

// aten::log2(self) = log(self) / log(2)
std::string convert_log2(ConversionContext& ctx) {
  return ctx.op("Div", {ctx.op("Log", {ctx.input(0)}), ctx.scalar(std::log(2.0), ctx.scalar_type(0))});
}

// aten::square(self) = self * self
std::string convert_square(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  return ctx.op("Mul", {x, x});
}

// aten::rsub(self, other, alpha) = other - alpha * self
std::string convert_rsub(ConversionContext& ctx) {
  auto self = ctx.input(0);
  if (ctx.double_arg(2) != 1.0) self = ctx.op("Mul", {self, ctx.scalar(ctx.double_arg(2), ctx.scalar_type(0))});
  return ctx.op("Sub", {ctx.input_like(1, 0), self});
}

// aten::round(self) rounds half to even, as ONNX Round does.
std::string convert_round(ConversionContext& ctx) {
  if (ctx.node().inputs().size() > 1 && ctx.int_arg(1) != 0)
    throw std::invalid_argument("rounding to " + std::to_string(ctx.int_arg(1)) + " decimals is not supported");
  return ctx.op("Round", {ctx.input(0)});
}

// aten::clamp(self, min, max), clamp_min(self, min), clamp_max(self, max): bounds that are numbers
// become Clip's optional inputs; tensor bounds become Max/Min.
std::string clamp(ConversionContext& ctx, std::optional<size_t> min_index, std::optional<size_t> max_index) {
  std::vector<size_t> given;
  for (const auto index : {min_index, max_index})
    if (index && !ctx.is_none(*index)) given.push_back(*index);
  // Clip takes integers only from opset 12; before, integer tensors are clamped with Max and Min.
  const bool clip_fits = ctx.opset() >= 12 || c10::isFloatingType(ctx.scalar_type(0));
  const bool numbers = clip_fits && std::all_of(given.begin(), given.end(), [&](size_t index) {
    const auto* value = ctx.node().input(index);
    return ctx.is_static(value) && !ctx.static_value(value).isTensor();
  });
  auto bound = [&](std::optional<size_t> index) {
    if (!index || ctx.is_none(*index)) return std::string();
    return numbers ? ctx.scalar(ctx.double_arg(*index), ctx.scalar_type(0)) : ctx.input_like(*index, 0);
  };
  const auto low = bound(min_index), high = bound(max_index);
  if (numbers) return ctx.op("Clip", {ctx.input(0), low, high});
  // Max and Min also take integers only from opset 12; comparisons take any numbers.
  auto x = ctx.input(0);
  if (!low.empty()) x = ctx.op("Where", {ctx.op("Less", {x, low}), low, x});
  if (!high.empty()) x = ctx.op("Where", {ctx.op("Greater", {x, high}), high, x});
  return x;
}

std::string convert_clamp(ConversionContext& ctx) { return clamp(ctx, 1, 2); }
std::string convert_clamp_min(ConversionContext& ctx) { return clamp(ctx, 1, std::nullopt); }
std::string convert_clamp_max(ConversionContext& ctx) { return clamp(ctx, std::nullopt, 1); }

// aten::where(condition, self, other)
std::string convert_where(ConversionContext& ctx) {
  const bool self_static = ctx.is_static(ctx.node().input(1));
  const auto self = self_static ? ctx.input_like(1, 2) : ctx.input(1);
  const auto other = ctx.input_like(2, 1);
  return ctx.op("Where", {as_bool(ctx, 0), self, other});
}

// aten::masked_fill(self, mask, value)
std::string convert_masked_fill(ConversionContext& ctx) {
  return ctx.op("Where", {as_bool(ctx, 1), ctx.input_like(2, 0), ctx.input(0)});
}

}  // namespace

void register_math_ops(ConverterRegistry& registry) {
  for (const auto& [aten, onnx] : std::vector<std::pair<std::string, std::string>>{
           {"abs", "Abs"},   {"log", "Log"},   {"floor", "Floor"}, {"ceil", "Ceil"}, {"sign", "Sign"},
           {"reciprocal", "Reciprocal"},     {"sin", "Sin"},     {"cos", "Cos"},   {"tan", "Tan"},
           {"asin", "Asin"}, {"acos", "Acos"}, {"atan", "Atan"}, {"sinh", "Sinh"}, {"cosh", "Cosh"},
           {"erf", "Erf"},   {"bitwise_not", "Not"}})
    registry.add("aten::" + aten, {onnx}, unary_converter(onnx));
  registry.add("aten::rsqrt", {"Sqrt", "Reciprocal"}, convert_rsqrt);
  registry.add("aten::log1p", {"Add", "Log"}, convert_log1p);
  registry.add("aten::log2", {"Log", "Div"}, convert_log2);
  registry.add("aten::square", {"Mul"}, convert_square);
  registry.add("aten::rsub", {"Sub", "Mul"}, convert_rsub);
  registry.add("aten::round", {"Round"}, convert_round);
  registry.add("aten::maximum", {"Max"}, binary("Max"));
  registry.add("aten::minimum", {"Min"}, binary("Min"));
  registry.add("aten::eq", {"Equal"}, binary("Equal"));
  registry.add("aten::ne", {"Equal", "Not"}, negated("Equal"));
  registry.add("aten::gt", {"Greater"}, binary("Greater"));
  registry.add("aten::lt", {"Less"}, binary("Less"));
  registry.add("aten::ge", {"Less", "Not"}, negated("Less"), {11, 11});
  registry.add("aten::ge", {"GreaterOrEqual"}, binary("GreaterOrEqual"), {12, kMaxOpset});
  registry.add("aten::le", {"Greater", "Not"}, negated("Greater"), {11, 11});
  registry.add("aten::le", {"LessOrEqual"}, binary("LessOrEqual"), {12, kMaxOpset});
  registry.add("aten::logical_and", {"And", "Cast"}, logical("And"));
  registry.add("aten::logical_or", {"Or", "Cast"}, logical("Or"));
  registry.add("aten::logical_xor", {"Xor", "Cast"}, logical("Xor"));
  registry.add("aten::logical_not", {"Not", "Cast"}, convert_logical_not);
  registry.add("aten::clamp", {"Clip", "Less", "Greater", "Where"}, convert_clamp);
  registry.add("aten::clamp_", {"Clip", "Less", "Greater", "Where"}, convert_clamp);
  registry.add("aten::clamp_min", {"Clip", "Less", "Where"}, convert_clamp_min);
  registry.add("aten::clamp_max", {"Clip", "Greater", "Where"}, convert_clamp_max);
  registry.add("aten::where", {"Where", "Cast"}, convert_where);
  registry.add("aten::masked_fill", {"Where", "Cast"}, convert_masked_fill);
  registry.add("aten::masked_fill_", {"Where", "Cast"}, convert_masked_fill);
}

}  // namespace mltk::onnx_export
