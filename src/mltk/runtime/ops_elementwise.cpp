// Element-wise arithmetic, comparison, selection and type conversion. ONNX multidirectional
// broadcasting is numpy broadcasting, which ATen implements natively.
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> add(const OpContext& ctx) { return {ctx.input(0) + ctx.input(1)}; }
std::vector<torch::Tensor> sub(const OpContext& ctx) { return {ctx.input(0) - ctx.input(1)}; }
std::vector<torch::Tensor> mul(const OpContext& ctx) { return {ctx.input(0) * ctx.input(1)}; }

std::vector<torch::Tensor> div(const OpContext& ctx) {
  const auto& a = ctx.input(0);
  const auto& b = ctx.input(1);
  // ATen's `/` is true division even for integers; ONNX integer Div truncates like C.
  if (c10::isIntegralType(a.scalar_type(), /*includeBool=*/false)) return {torch::div(a, b, "trunc")};
  return {a / b};
}

std::vector<torch::Tensor> pow(const OpContext& ctx) {
  const auto& base = ctx.input(0);
  // ONNX Pow returns the base's type; ATen would promote int ** float to float.
  return {torch::pow(base, ctx.input(1)).to(base.scalar_type())};
}

std::vector<torch::Tensor> sqrt(const OpContext& ctx) { return {torch::sqrt(ctx.input(0))}; }
std::vector<torch::Tensor> neg(const OpContext& ctx) { return {torch::neg(ctx.input(0))}; }
std::vector<torch::Tensor> erf(const OpContext& ctx) { return {torch::erf(ctx.input(0))}; }
std::vector<torch::Tensor> exp(const OpContext& ctx) { return {torch::exp(ctx.input(0))}; }
std::vector<torch::Tensor> log(const OpContext& ctx) { return {torch::log(ctx.input(0))}; }
std::vector<torch::Tensor> abs(const OpContext& ctx) { return {torch::abs(ctx.input(0))}; }
std::vector<torch::Tensor> sign(const OpContext& ctx) { return {torch::sign(ctx.input(0))}; }
std::vector<torch::Tensor> floor(const OpContext& ctx) { return {torch::floor(ctx.input(0))}; }
std::vector<torch::Tensor> ceil(const OpContext& ctx) { return {torch::ceil(ctx.input(0))}; }
// ATen rounds halves to even, as ONNX does.
std::vector<torch::Tensor> round(const OpContext& ctx) { return {torch::round(ctx.input(0))}; }
std::vector<torch::Tensor> reciprocal(const OpContext& ctx) { return {torch::reciprocal(ctx.input(0))}; }
std::vector<torch::Tensor> sin(const OpContext& ctx) { return {torch::sin(ctx.input(0))}; }
std::vector<torch::Tensor> cos(const OpContext& ctx) { return {torch::cos(ctx.input(0))}; }
std::vector<torch::Tensor> tan(const OpContext& ctx) { return {torch::tan(ctx.input(0))}; }
std::vector<torch::Tensor> asin(const OpContext& ctx) { return {torch::asin(ctx.input(0))}; }
std::vector<torch::Tensor> acos(const OpContext& ctx) { return {torch::acos(ctx.input(0))}; }
std::vector<torch::Tensor> atan(const OpContext& ctx) { return {torch::atan(ctx.input(0))}; }
std::vector<torch::Tensor> sinh(const OpContext& ctx) { return {torch::sinh(ctx.input(0))}; }
std::vector<torch::Tensor> cosh(const OpContext& ctx) { return {torch::cosh(ctx.input(0))}; }
std::vector<torch::Tensor> asinh(const OpContext& ctx) { return {torch::asinh(ctx.input(0))}; }
std::vector<torch::Tensor> acosh(const OpContext& ctx) { return {torch::acosh(ctx.input(0))}; }
std::vector<torch::Tensor> atanh(const OpContext& ctx) { return {torch::atanh(ctx.input(0))}; }
std::vector<torch::Tensor> is_nan(const OpContext& ctx) { return {torch::isnan(ctx.input(0))}; }

std::vector<torch::Tensor> is_inf(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const bool positive = ctx.attr_int("detect_positive", 1) != 0;
  const bool negative = ctx.attr_int("detect_negative", 1) != 0;
  if (positive && negative) return {torch::isinf(x)};
  if (positive) return {torch::isposinf(x)};
  if (negative) return {torch::isneginf(x)};
  return {torch::zeros(x.sizes(), torch::TensorOptions().dtype(torch::kBool))};
}

std::vector<torch::Tensor> equal(const OpContext& ctx) { return {torch::eq(ctx.input(0), ctx.input(1))}; }
std::vector<torch::Tensor> greater(const OpContext& ctx) { return {torch::gt(ctx.input(0), ctx.input(1))}; }
std::vector<torch::Tensor> less(const OpContext& ctx) { return {torch::lt(ctx.input(0), ctx.input(1))}; }
std::vector<torch::Tensor> greater_or_equal(const OpContext& ctx) { return {torch::ge(ctx.input(0), ctx.input(1))}; }
std::vector<torch::Tensor> less_or_equal(const OpContext& ctx) { return {torch::le(ctx.input(0), ctx.input(1))}; }
std::vector<torch::Tensor> logical_not(const OpContext& ctx) { return {torch::logical_not(ctx.input(0))}; }
std::vector<torch::Tensor> logical_and(const OpContext& ctx) {
  return {torch::logical_and(ctx.input(0), ctx.input(1))};
}
std::vector<torch::Tensor> logical_or(const OpContext& ctx) { return {torch::logical_or(ctx.input(0), ctx.input(1))}; }
std::vector<torch::Tensor> logical_xor(const OpContext& ctx) {
  return {torch::logical_xor(ctx.input(0), ctx.input(1))};
}

// Min, Max, Sum and Mean take one or more inputs and broadcast them all together.
torch::Tensor fold_inputs(const OpContext& ctx, torch::Tensor (*combine)(const torch::Tensor&, const torch::Tensor&)) {
  if (ctx.node().input_size() == 0) ctx.fail("needs at least one input");
  auto result = ctx.input(0);
  for (int i = 1; i < ctx.node().input_size(); ++i) result = combine(result, ctx.input(i));
  return result;
}

std::vector<torch::Tensor> min(const OpContext& ctx) { return {fold_inputs(ctx, torch::minimum)}; }
std::vector<torch::Tensor> max(const OpContext& ctx) { return {fold_inputs(ctx, torch::maximum)}; }

torch::Tensor add_all(const OpContext& ctx) {
  return fold_inputs(ctx, [](const torch::Tensor& a, const torch::Tensor& b) { return a + b; });
}

std::vector<torch::Tensor> sum(const OpContext& ctx) { return {add_all(ctx)}; }

std::vector<torch::Tensor> mean(const OpContext& ctx) {
  return {add_all(ctx) / static_cast<double>(ctx.node().input_size())};
}

std::vector<torch::Tensor> mod(const OpContext& ctx) {
  const auto& a = ctx.input(0);
  const auto& b = ctx.input(1);
  // fmod=1 takes the dividend's sign (C fmod); fmod=0 the divisor's (Python %), integers only.
  if (ctx.attr_int("fmod", 0) != 0) return {torch::fmod(a, b)};
  if (a.is_floating_point()) ctx.fail("fmod must be 1 for floating-point inputs");
  return {torch::remainder(a, b)};
}

std::vector<torch::Tensor> where(const OpContext& ctx) {
  return {torch::where(ctx.input(0).to(torch::kBool), ctx.input(1), ctx.input(2))};
}

std::vector<torch::Tensor> cast(const OpContext& ctx) {
  const int64_t to = ctx.attr_int("to", 0);
  try {
    return {ctx.input(0).to(scalar_type_from_onnx(static_cast<int32_t>(to)))};
  } catch (const std::runtime_error& e) {
    ctx.fail(e.what());
  }
}

std::vector<torch::Tensor> identity(const OpContext& ctx) { return {ctx.input(0)}; }

std::vector<torch::Tensor> dropout(const OpContext& ctx) {
  // Inference only: opset >= 12 selects training through the optional third input, older opsets
  // have no training flag in inference graphs.
  if (ctx.has_input(2) && ctx.input(2).item<bool>()) ctx.fail("training_mode=true is not supported");
  const auto& data = ctx.input(0);
  if (!ctx.wants_output(1)) return {data};
  return {data, torch::ones(data.sizes(), torch::TensorOptions().dtype(torch::kBool))};
}

}  // namespace

void register_elementwise_ops(OperatorRegistry& registry) {
  registry.add("Add", add);
  registry.add("Sub", sub);
  registry.add("Mul", mul);
  registry.add("Div", div);
  registry.add("Pow", pow);
  registry.add("Sqrt", sqrt);
  registry.add("Neg", neg);
  registry.add("Erf", erf);
  registry.add("Exp", exp);
  registry.add("Log", log);
  registry.add("Abs", abs);
  registry.add("Sign", sign);
  registry.add("Floor", floor);
  registry.add("Ceil", ceil);
  registry.add("Round", round);
  registry.add("Reciprocal", reciprocal);
  registry.add("Sin", sin);
  registry.add("Cos", cos);
  registry.add("Tan", tan);
  registry.add("Asin", asin);
  registry.add("Acos", acos);
  registry.add("Atan", atan);
  registry.add("Sinh", sinh);
  registry.add("Cosh", cosh);
  registry.add("Asinh", asinh);
  registry.add("Acosh", acosh);
  registry.add("Atanh", atanh);
  registry.add("IsNaN", is_nan);
  registry.add("IsInf", is_inf);
  registry.add("Equal", equal);
  registry.add("Greater", greater);
  registry.add("Less", less);
  registry.add("GreaterOrEqual", greater_or_equal);
  registry.add("LessOrEqual", less_or_equal);
  registry.add("Not", logical_not);
  registry.add("And", logical_and);
  registry.add("Or", logical_or);
  registry.add("Xor", logical_xor);
  registry.add("Min", min);
  registry.add("Max", max);
  registry.add("Sum", sum);
  registry.add("Mean", mean);
  registry.add("Mod", mod);
  registry.add("Where", where);
  registry.add("Cast", cast);
  registry.add("Identity", identity);
  registry.add("Dropout", dropout);
}

}  // namespace mltk::runtime
