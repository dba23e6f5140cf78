// Matrix products.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <algorithm>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> mat_mul(const OpContext& ctx) { return {torch::matmul(ctx.input(0), ctx.input(1))}; }

std::vector<torch::Tensor> gemm(const OpContext& ctx) {
  const auto a = ctx.attr_int("transA", 0) != 0 ? ctx.input(0).t() : ctx.input(0);
  const auto b = ctx.attr_int("transB", 0) != 0 ? ctx.input(1).t() : ctx.input(1);
  auto y = torch::matmul(a, b) * ctx.attr_float("alpha", 1.0F);
  // C is optional from opset 11 and unidirectionally broadcast to (M, N).
  if (ctx.has_input(2)) y = y + ctx.input(2) * ctx.attr_float("beta", 1.0F);
  return {y};
}

std::vector<torch::Tensor> einsum(const OpContext& ctx) {
  auto equation = ctx.attr_string("equation", "");
  // ONNX allows blanks in the equation; ATen's parser does not.
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  std::vector<torch::Tensor> operands;
  for (int i = 0; i < ctx.node().input_size(); ++i) operands.push_back(ctx.input(i));
  return {torch::einsum(equation, operands)};
}

}  // namespace

void register_matmul_ops(OperatorRegistry& registry) {
  registry.add("MatMul", mat_mul);
  registry.add("Gemm", gemm);
  registry.add("Einsum", einsum);
}

}  // namespace mltk::runtime
