// Element-wise arithmetic, matrix products and reductions.
#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// aten::add/sub(self, other, alpha): self + alpha * other; `other` may be a Python scalar.
std::string add_or_sub(ConversionContext& ctx, const std::string& onnx_type) {
  auto other = ctx.input_like(1, 0);
  if (ctx.node().inputs().size() > 2 && ctx.double_arg(2) != 1.0)
    other = ctx.op("Mul", {other, ctx.scalar(ctx.double_arg(2), ctx.scalar_type(0))});
  return ctx.op(onnx_type, {ctx.input(0), other});
}

std::string convert_add(ConversionContext& ctx) { return add_or_sub(ctx, "Add"); }
std::string convert_sub(ConversionContext& ctx) { return add_or_sub(ctx, "Sub"); }

// aten::mul(self, other)
std::string convert_mul(ConversionContext& ctx) { return ctx.op("Mul", {ctx.input(0), ctx.input_like(1, 0)}); }

// aten::div(self, other[, rounding_mode]): ONNX Div truncates integers, so only true division maps.
std::string convert_div(ConversionContext& ctx) {
  if (ctx.node().inputs().size() > 2 && !ctx.is_none(2))
    throw std::invalid_argument("aten::div with rounding_mode '" + ctx.string_arg(2) + "' is not supported");
  return ctx.op("Div", {ctx.input(0), ctx.input_like(1, 0)});
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

// aten::t(self): transpose of a matrix; vectors are returned unchanged.
std::string convert_t(ConversionContext& ctx) {
  if (ctx.rank(0) < 2) return ctx.op("Identity", {ctx.input(0)});
  return ctx.op("Transpose", {ctx.input(0)}, {{"perm", std::vector<int64_t>{1, 0}}});
}

// aten::mean(self, dim, keepdim, dtype) or aten::mean(self, dtype). ReduceMean takes axes as an
// attribute up to opset 17.
std::string convert_mean(ConversionContext& ctx) {
  if (ctx.node().inputs().size() <= 2) return ctx.op("ReduceMean", {ctx.input(0)}, {{"keepdims", 0}});
  return ctx.op("ReduceMean", {ctx.input(0)}, {{"axes", ctx.ints_arg(1)}, {"keepdims", int64_t{ctx.bool_arg(2)}}});
}

// aten::sum(self, dim, keepdim, dtype) or aten::sum(self, dtype). ReduceSum takes axes as an input
// from opset 13.
std::string convert_sum(ConversionContext& ctx) {
  if (ctx.node().inputs().size() <= 2) return ctx.op("ReduceSum", {ctx.input(0)}, {{"keepdims", 0}});
  const auto axes = ctx.ints_arg(1);
  const Attribute keepdims{"keepdims", int64_t{ctx.bool_arg(2)}};
  if (ctx.opset() >= 13) return ctx.op("ReduceSum", {ctx.input(0), ctx.int64s(axes)}, {keepdims});
  return ctx.op("ReduceSum", {ctx.input(0)}, {{"axes", axes}, keepdims});
}

}  // namespace

void register_arithmetic_ops(ConverterRegistry& registry) {
  registry["aten::add"] = convert_add;
  registry["aten::add_"] = convert_add;  // in place: see aten::relu_ in ops_activation.cpp
  registry["aten::sub"] = convert_sub;
  registry["aten::mul"] = convert_mul;
  registry["aten::div"] = convert_div;
  registry["aten::pow"] = convert_pow;
  registry["aten::neg"] = unary_converter("Neg");
  registry["aten::sqrt"] = unary_converter("Sqrt");
  registry["aten::exp"] = unary_converter("Exp");
  registry["aten::matmul"] = convert_matmul;
  registry["aten::bmm"] = convert_matmul;
  registry["aten::linear"] = convert_linear;
  registry["aten::addmm"] = convert_addmm;
  registry["aten::t"] = convert_t;
  registry["aten::mean"] = convert_mean;
  registry["aten::sum"] = convert_sum;
}

}  // namespace mltk::onnx_export
