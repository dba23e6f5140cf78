// Operators that create tensors from attributes or scalars.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> constant(const OpContext& ctx) {
  const auto longs = torch::TensorOptions().dtype(torch::kLong);
  if (ctx.has_attribute("value")) return {ctx.attr_tensor("value")};
  // The scalar and list forms arrived in opset 12.
  if (ctx.has_attribute("value_float")) return {torch::tensor(ctx.attr_float("value_float", 0.0F))};
  if (ctx.has_attribute("value_floats")) return {torch::tensor(ctx.attr_floats("value_floats"))};
  if (ctx.has_attribute("value_int")) return {torch::tensor(ctx.attr_int("value_int", 0), longs)};
  if (ctx.has_attribute("value_ints")) return {torch::tensor(ctx.attr_ints("value_ints"), longs)};
  ctx.fail("only value, value_float(s) and value_int(s) constants are supported");
}

std::vector<torch::Tensor> constant_of_shape(const OpContext& ctx) {
  const auto shape = ctx.input_ints(0);
  // The default fill is a float32 zero.
  const auto value = ctx.has_attribute("value") ? ctx.attr_tensor("value") : torch::zeros({1});
  if (value.numel() != 1) ctx.fail("value must hold exactly one element");
  return {torch::full(shape, value.reshape({}).item(), value.options())};
}

std::vector<torch::Tensor> range(const OpContext& ctx) {
  const auto& start = ctx.input(0);
  // arange uses ONNX's element count, max(ceil((limit - start) / delta), 0).
  return {torch::arange(start.item(), ctx.input(1).item(), ctx.input(2).item(), start.options())};
}

}  // namespace

void register_constant_ops(OperatorRegistry& registry) {
  registry.add("Constant", constant);
  registry.add("ConstantOfShape", constant_of_shape);
  registry.add("Range", range);
}

}  // namespace mltk::runtime
