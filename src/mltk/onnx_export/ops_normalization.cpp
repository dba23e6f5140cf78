// Normalisation layers, softmax and the eval-mode no-op dropout.
#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// aten::batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
std::string convert_batch_norm(ConversionContext& ctx) {
  if (ctx.bool_arg(5))
    throw std::invalid_argument("aten::batch_norm in training mode (use_input_stats) cannot be exported; "
                                "the exporter traces in eval mode, so the module computes batch statistics itself");
  const auto channels = ctx.sizes(3).at(0);
  const auto type = ctx.scalar_type(0);
  const auto scale = ctx.is_none(1) ? ctx.constant(torch::ones({channels}, type)) : ctx.input(1);
  const auto bias = ctx.is_none(2) ? ctx.constant(torch::zeros({channels}, type)) : ctx.input(2);
  return ctx.op("BatchNormalization", {ctx.input(0), scale, bias, ctx.input(3), ctx.input(4)},
                {{"epsilon", ctx.double_arg(7)}});
}

// aten::layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable). LayerNormalization
// exists from opset 17; before, (x - mean) / sqrt(var + eps) over the trailing dimensions.
std::string convert_layer_norm(ConversionContext& ctx) {
  const auto normalized_shape = ctx.ints_arg(1);
  const auto count = static_cast<int64_t>(normalized_shape.size());
  const auto type = ctx.scalar_type(0);
  const auto x = ctx.input(0);
  const auto eps = ctx.double_arg(4);
  if (ctx.opset() >= 17) {
    std::vector<std::string> inputs{x, ctx.is_none(2) ? ctx.constant(torch::ones(normalized_shape, type)) : ctx.input(2)};
    if (!ctx.is_none(3)) inputs.push_back(ctx.input(3));
    return ctx.op("LayerNormalization", inputs, {{"axis", -count}, {"epsilon", eps}});
  }
  std::vector<int64_t> axes;
  for (int64_t axis = -count; axis < 0; ++axis) axes.push_back(axis);
  const std::vector<Attribute> reduce{{"axes", axes}, {"keepdims", 1}};
  const auto centered = ctx.op("Sub", {x, ctx.op("ReduceMean", {x}, reduce)});
  const auto variance = ctx.op("ReduceMean", {ctx.op("Pow", {centered, ctx.scalar(2.0, type)})}, reduce);
  const auto deviation = ctx.op("Sqrt", {ctx.op("Add", {variance, ctx.scalar(eps, type)})});
  auto y = ctx.op("Div", {centered, deviation});
  if (!ctx.is_none(2)) y = ctx.op("Mul", {y, ctx.input(2)});
  if (!ctx.is_none(3)) y = ctx.op("Add", {y, ctx.input(3)});
  return y;
}

// Before opset 13, Softmax flattens the input to 2-D at `axis`, which equals torch's per-dim
// softmax only for the last dimension: any other dimension is swapped to the end and back.
std::string softmax(ConversionContext& ctx, const std::string& onnx_type) {
  if (!ctx.is_none(2)) throw std::invalid_argument(onnx_type + ": a dtype argument is not supported");
  const auto rank = ctx.rank(0);
  const auto dim = ctx.dim_arg(1, 0);
  if (ctx.opset() >= 13 || dim == rank - 1) return ctx.op(onnx_type, {ctx.input(0)}, {{"axis", dim}});
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) perm[i] = i;
  std::swap(perm[dim], perm[rank - 1]);
  const auto moved = ctx.op("Transpose", {ctx.input(0)}, {{"perm", perm}});
  const auto result = ctx.op(onnx_type, {moved}, {{"axis", rank - 1}});
  return ctx.op("Transpose", {result}, {{"perm", perm}});
}

// aten::softmax(self, dim, dtype)
std::string convert_softmax(ConversionContext& ctx) { return softmax(ctx, "Softmax"); }

// aten::log_softmax(self, dim, dtype)
std::string convert_log_softmax(ConversionContext& ctx) { return softmax(ctx, "LogSoftmax"); }

// aten::dropout / feature_dropout(input, p, train): the identity in eval mode. Emitted as Identity
// so that the graph cleanup removes it like any other identity.
std::string convert_dropout(ConversionContext& ctx) {
  if (ctx.bool_arg(2)) throw std::invalid_argument("dropout in training mode cannot be exported");
  return ctx.op("Identity", {ctx.input(0)});
}

}  // namespace

void register_normalization_ops(ConverterRegistry& registry) {
  registry["aten::batch_norm"] = convert_batch_norm;
  registry["aten::layer_norm"] = convert_layer_norm;
  registry["aten::softmax"] = convert_softmax;
  registry["aten::log_softmax"] = convert_log_softmax;
  registry["aten::dropout"] = convert_dropout;
  registry["aten::feature_dropout"] = convert_dropout;
}

}  // namespace mltk::onnx_export
