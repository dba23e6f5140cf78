// Element-wise arithmetic and matrix products.
#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// Both operands of element-wise arithmetic: a Python scalar takes the tensor's dtype, two tensors
// of different dtypes are cast to the result's.
std::pair<std::string, std::string> promoted_operands(ConversionContext& ctx) {
  const bool self_static = ctx.is_static(ctx.node().input(0)), other_static = ctx.is_static(ctx.node().input(1));
  if (self_static && !other_static) return {ctx.input_like(0, 1), ctx.input_promoted(1)};
  if (other_static) return {ctx.input_promoted(0), ctx.input_like(1, 0)};
  return {ctx.input_promoted(0), ctx.input_promoted(1)};
}

// aten::add/sub(self, other, alpha): self + alpha * other; `other` may be a Python scalar.
std::string add_or_sub(ConversionContext& ctx, const std::string& onnx_type) {
  auto [self, other] = promoted_operands(ctx);
  if (ctx.node().inputs().size() > 2 && ctx.double_arg(2) != 1.0)
    other = ctx.op("Mul", {other, ctx.scalar(ctx.double_arg(2), ctx.scalar_type(0))});
  return ctx.op(onnx_type, {self, other});
}

std::string convert_add(ConversionContext& ctx) { return add_or_sub(ctx, "Add"); }
std::string convert_sub(ConversionContext& ctx) { return add_or_sub(ctx, "Sub"); }

// aten::mul(self, other)
std::string convert_mul(ConversionContext& ctx) {
  const auto [self, other] = promoted_operands(ctx);
  return ctx.op("Mul", {self, other});
}

// aten::div(self, other[, rounding_mode]): ONNX Div truncates integers, so only true division maps.
std::string convert_div(ConversionContext& ctx) {
  if (ctx.node().inputs().size() > 2 && !ctx.is_none(2))
    throw std::invalid_argument("aten::div with rounding_mode '" + ctx.string_arg(2) + "' is not supported");
  const auto [self, other] = promoted_operands(ctx);
  return ctx.op("Div", {self, other});
}

bool floating_result(const ConversionContext& ctx) {
  return c10::isFloatingType(ctx.output_type().value_or(at::kFloat));
}

// aten::floor_divide(self, other): the quotient rounded down. ONNX Div truncates integers, so an
// integer quotient is taken from the dividend less its Python-style remainder, which is exact.
std::string convert_floor_divide(ConversionContext& ctx) {
  const auto [self, other] = promoted_operands(ctx);
  if (floating_result(ctx)) return ctx.op("Floor", {ctx.op("Div", {self, other})});
  return ctx.op("Div", {ctx.op("Sub", {self, ctx.op("Mod", {self, other}, {{"fmod", 0}})}), other});
}

// aten::remainder(self, other): the remainder with the divisor's sign, as Python's %. ONNX Mod
// gives that sign for integers only (fmod=0), so for floats it is self - floor(self / other) * other.
std::string convert_remainder(ConversionContext& ctx) {
  const auto [self, other] = promoted_operands(ctx);
  if (!floating_result(ctx)) return ctx.op("Mod", {self, other}, {{"fmod", 0}});
  const auto quotient = ctx.op("Floor", {ctx.op("Div", {self, other})});
  return ctx.op("Sub", {self, ctx.op("Mul", {quotient, other})});
}

// aten::pow(self, exponent)
std::string convert_pow(ConversionContext& ctx) { return ctx.op("Pow", {ctx.input(0), ctx.input_like(1, 0)}); }

// aten::matmul / aten::bmm: numpy semantics, as ONNX MatMul.
std::string convert_matmul(ConversionContext& ctx) { return ctx.op("MatMul", {ctx.input(0), ctx.input(1)}); }

// aten::linear(input, weight, bias): Gemm for 2-D input, MatMul with the transposed weight otherwise.
std::string convert_linear(ConversionContext& ctx) {
  const auto x = ctx.input(0), weight = ctx.input(1);
  if (ctx.rank(0) == 2) {
    std::vector<std::string> inputs{x, weight};
    if (!ctx.is_none(2)) inputs.push_back(ctx.input(2));
    return ctx.op("Gemm", inputs, {{"transB", 1}});
  }
  auto y = ctx.op("MatMul", {x, ctx.op("Transpose", {weight}, {{"perm", std::vector<int64_t>{1, 0}}})});
  return ctx.is_none(2) ? y : ctx.op("Add", {y, ctx.input(2)});
}

// aten::addmm(self, mat1, mat2, beta, alpha) = beta * self + alpha * mat1 @ mat2. LibTorch traces
// Linear on a matrix as addmm(bias, x, t(weight)): Gemm's transB reads the weight initializer as
// stored, and the Transpose emitted for aten::t is left dead for the clean-up to remove.
std::string convert_addmm(ConversionContext& ctx) {
  const auto* mat2 = ctx.node().input(2);
  const bool transposed = mat2->node()->kind() == c10::aten::t && mat2->type()->expectRef<c10::TensorType>().dim() == 2;
  const auto b = transposed ? ctx.tensor(mat2->node()->input()) : ctx.input(2);
  return ctx.op("Gemm", {ctx.input(1), b, ctx.input(0)},
                {{"beta", ctx.double_arg(3)}, {"alpha", ctx.double_arg(4)}, {"transB", int64_t{transposed}}});
}

// aten::baddbmm(self, batch1, batch2, beta, alpha) = beta * self + alpha * batch1 @ batch2
std::string convert_baddbmm(ConversionContext& ctx) {
  const auto type = ctx.scalar_type(0);
  auto product = ctx.op("MatMul", {ctx.input(1), ctx.input(2)});
  if (ctx.double_arg(4) != 1.0) product = ctx.op("Mul", {product, ctx.scalar(ctx.double_arg(4), type)});
  auto self = ctx.input(0);
  if (ctx.double_arg(3) != 1.0) self = ctx.op("Mul", {self, ctx.scalar(ctx.double_arg(3), type)});
  return ctx.op("Add", {self, product});
}

// aten::einsum(equation, tensors, path): Einsum from opset 12.
std::string convert_einsum(ConversionContext& ctx) {
  return ctx.op("Einsum", ctx.input_list(1), {{"equation", ctx.string_arg(0).c_str()}});
}

// aten::t(self): transpose of a matrix; vectors are returned unchanged.
std::string convert_t(ConversionContext& ctx) {
  if (ctx.rank(0) < 2) return ctx.op("Identity", {ctx.input(0)});
  return ctx.op("Transpose", {ctx.input(0)}, {{"perm", std::vector<int64_t>{1, 0}}});
}

}  // namespace

void register_arithmetic_ops(ConverterRegistry& registry) {
  registry.add("aten::add", {"Add", "Mul", "Cast"}, convert_add);
  registry.add("aten::add_", {"Add", "Mul", "Cast"}, convert_add);  // in place: see aten::relu_ in ops_activation.cpp
  registry.add("aten::sub", {"Sub", "Mul", "Cast"}, convert_sub);
  registry.add("aten::mul", {"Mul", "Cast"}, convert_mul);
  registry.add("aten::div", {"Div", "Cast"}, convert_div);
  registry.add("aten::floor_divide", {"Div", "Floor", "Sub", "Mod", "Cast"}, convert_floor_divide);
  registry.add("aten::remainder", {"Div", "Floor", "Sub", "Mul", "Mod", "Cast"}, convert_remainder);
  registry.add("aten::pow", {"Pow"}, convert_pow);
  registry.add("aten::neg", {"Neg"}, unary_converter("Neg"));
  registry.add("aten::sqrt", {"Sqrt"}, unary_converter("Sqrt"));
  registry.add("aten::exp", {"Exp"}, unary_converter("Exp"));
  registry.add("aten::matmul", {"MatMul"}, convert_matmul);
  registry.add("aten::bmm", {"MatMul"}, convert_matmul);
  registry.add("aten::linear", {"Gemm", "MatMul", "Transpose", "Add"}, convert_linear);
  registry.add("aten::addmm", {"Gemm"}, convert_addmm);
  registry.add("aten::t", {"Identity", "Transpose"}, convert_t);
  registry.add("aten::baddbmm", {"MatMul", "Mul", "Add"}, convert_baddbmm);
  registry.add("aten::einsum", {"Einsum"}, convert_einsum, {12, kMaxOpset});
  registry.add("aten::sub_", {"Sub", "Mul", "Cast"}, convert_sub);
  registry.add("aten::mul_", {"Mul", "Cast"}, convert_mul);
  registry.add("aten::div_", {"Div", "Cast"}, convert_div);
}

}  // namespace mltk::onnx_export
