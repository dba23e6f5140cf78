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
std::vector<torch::Tensor> equal(const OpContext& ctx) { return {torch::eq(ctx.input(0), ctx.input(1))}; }

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
  registry.add("Equal", equal);
  registry.add("Where", where);
  registry.add("Cast", cast);
  registry.add("Identity", identity);
  registry.add("Dropout", dropout);
}

}  // namespace mltk::runtime
