// Normalisation layers, softmax and the eval-mode no-op dropout.
#include "mltk/onnx_export/converters.h"

#include <algorithm>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// The affine scale and shift of a normalisation over `channels` (inputs 1 and 2), ones and zeros
// when the module has none.
std::pair<std::string, std::string> affine_parameters(ConversionContext& ctx, int64_t channels) {
  const auto type = ctx.scalar_type(0);
  return {ctx.is_none(1) ? ctx.constant(torch::ones({channels}, type)) : ctx.input(1),
          ctx.is_none(2) ? ctx.constant(torch::zeros({channels}, type)) : ctx.input(2)};
}

// aten::batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
std::string convert_batch_norm(ConversionContext& ctx) {
  if (ctx.bool_arg(5))
    throw std::invalid_argument("aten::batch_norm in training mode (use_input_stats) cannot be exported; "
                                "the exporter traces in eval mode, so the module computes batch statistics itself");
  const auto [scale, bias] = affine_parameters(ctx, ctx.sizes(3).at(0));
  return ctx.op("BatchNormalization", {ctx.input(0), scale, bias, ctx.input(3), ctx.input(4)},
                {{"epsilon", ctx.double_arg(7)}});
}

// aten::layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable) from opset 17.
std::string convert_layer_norm(ConversionContext& ctx) {
  const auto normalized_shape = ctx.ints_arg(1);
  const auto count = static_cast<int64_t>(normalized_shape.size());
  std::vector<std::string> inputs{
      ctx.input(0), ctx.is_none(2) ? ctx.constant(torch::ones(normalized_shape, ctx.scalar_type(0))) : ctx.input(2)};
  if (!ctx.is_none(3)) inputs.push_back(ctx.input(3));
  return ctx.op("LayerNormalization", inputs, {{"axis", -count}, {"epsilon", ctx.double_arg(4)}});
}

// Before opset 17: (x - mean) / sqrt(var + eps) over the trailing dimensions.
std::string convert_layer_norm_decomposed(ConversionContext& ctx) {
  const auto count = static_cast<int64_t>(ctx.ints_arg(1).size());
  const auto type = ctx.scalar_type(0);
  const auto x = ctx.input(0);
  std::vector<int64_t> axes;
  for (int64_t axis = -count; axis < 0; ++axis) axes.push_back(axis);
  const std::vector<Attribute> reduce{{"axes", axes}, {"keepdims", 1}};
  const auto centered = ctx.op("Sub", {x, ctx.op("ReduceMean", {x}, reduce)});
  const auto variance = ctx.op("ReduceMean", {ctx.op("Pow", {centered, ctx.scalar(2.0, type)})}, reduce);
  const auto deviation = ctx.op("Sqrt", {ctx.op("Add", {variance, ctx.scalar(ctx.double_arg(4), type)})});
  auto y = ctx.op("Div", {centered, deviation});
  if (!ctx.is_none(2)) y = ctx.op("Mul", {y, ctx.input(2)});
  if (!ctx.is_none(3)) y = ctx.op("Add", {y, ctx.input(3)});
  return y;
}

// aten::group_norm(input, num_groups, weight, bias, eps, cudnn_enabled): each sample's channels in
// `num_groups` groups, normalised over the group's values, then scaled and shifted per channel.
std::string convert_group_norm(ConversionContext& ctx) {
  const auto x = ctx.input(0);
  const auto type = ctx.scalar_type(0);
  const auto rank = ctx.rank(0);
  const std::vector<Attribute> over_group{{"axes", std::vector<int64_t>{2}}, {"keepdims", 1}};
  const auto grouped = ctx.op("Reshape", {x, ctx.int64s({0, ctx.int_arg(1), -1})});
  const auto centered = ctx.op("Sub", {grouped, ctx.op("ReduceMean", {grouped}, over_group)});
  const auto variance = ctx.op("ReduceMean", {ctx.op("Mul", {centered, centered})}, over_group);
  const auto deviation = ctx.op("Sqrt", {ctx.op("Add", {variance, ctx.scalar(ctx.double_arg(4), type)})});
  auto y = ctx.op("Reshape", {ctx.op("Div", {centered, deviation}), ctx.op("Shape", {x})});
  if (!ctx.is_none(2)) y = ctx.op("Mul", {y, per_channel(ctx, ctx.input(2), rank)});
  if (!ctx.is_none(3)) y = ctx.op("Add", {y, per_channel(ctx, ctx.input(3), rank)});
  return y;
}

// aten::instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
// cudnn_enabled). With use_input_stats off (running statistics tracked, eval mode) it is a batch norm.
std::string convert_instance_norm(ConversionContext& ctx) {
  if (!ctx.bool_arg(5))
    throw std::invalid_argument("instance_norm with running statistics (track_running_stats in eval mode) is not "
                                "supported");
  const auto [scale, bias] = affine_parameters(ctx, ctx.sizes(0).at(1));
  return ctx.op("InstanceNormalization", {ctx.input(0), scale, bias}, {{"epsilon", ctx.double_arg(7)}});
}

// aten::softmax / log_softmax(self, dim, dtype) from opset 13, where Softmax works on one axis.
Converter softmax(const std::string& onnx_type) {
  return [onnx_type](ConversionContext& ctx) {
    require_no_dtype(ctx, 2);
    return ctx.op(onnx_type, {ctx.input(0)}, {{"axis", ctx.dim_arg(1, 0)}});
  };
}

// Before opset 13, Softmax flattens the input to 2-D at `axis`, which equals torch's per-dim
// softmax only for the last dimension: any other dimension is swapped to the end and back.
Converter softmax_through_last_axis(const std::string& onnx_type) {
  return [onnx_type](ConversionContext& ctx) {
    require_no_dtype(ctx, 2);
    const auto rank = ctx.rank(0);
    const auto dim = ctx.dim_arg(1, 0);
    if (dim == rank - 1) return ctx.op(onnx_type, {ctx.input(0)}, {{"axis", dim}});
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i) perm[i] = i;
    std::swap(perm[dim], perm[rank - 1]);
    const auto moved = ctx.op("Transpose", {ctx.input(0)}, {{"perm", perm}});
    const auto result = ctx.op(onnx_type, {moved}, {{"axis", rank - 1}});
    return ctx.op("Transpose", {result}, {{"perm", perm}});
  };
}

// aten::dropout / feature_dropout(input, p, train): the identity in eval mode. Emitted as Identity
// so that the graph cleanup removes it like any other identity.
std::string convert_dropout(ConversionContext& ctx) {
  if (ctx.bool_arg(2)) throw std::invalid_argument("dropout in training mode cannot be exported");
  return ctx.op("Identity", {ctx.input(0)});
}

}  // namespace

void register_normalization_ops(ConverterRegistry& registry) {
  registry.add("aten::batch_norm", {"BatchNormalization"}, convert_batch_norm);
  registry.add("aten::layer_norm", {"ReduceMean", "Sub", "Pow", "Add", "Sqrt", "Div", "Mul"},
               convert_layer_norm_decomposed, {11, 16});
  registry.add("aten::layer_norm", {"LayerNormalization"}, convert_layer_norm, {17, kMaxOpset});
  registry.add("aten::softmax", {"Softmax", "Transpose"}, softmax_through_last_axis("Softmax"), {11, 12});
  registry.add("aten::softmax", {"Softmax"}, softmax("Softmax"), {13, kMaxOpset});
  registry.add("aten::log_softmax", {"LogSoftmax", "Transpose"}, softmax_through_last_axis("LogSoftmax"), {11, 12});
  registry.add("aten::log_softmax", {"LogSoftmax"}, softmax("LogSoftmax"), {13, kMaxOpset});
  registry.add("aten::group_norm", {"Reshape", "ReduceMean", "Sub", "Mul", "Add", "Sqrt", "Div", "Shape"},
               convert_group_norm);
  registry.add("aten::instance_norm", {"InstanceNormalization"}, convert_instance_norm);
  // Every dropout, in place or not (torchvision's MobileNetV3 uses nn.Dropout(inplace=True)), has
  // the signature (input, p, train) and is the identity in eval mode.
  for (const auto* name : {"aten::dropout", "aten::dropout_", "aten::feature_dropout", "aten::feature_dropout_",
                           "aten::alpha_dropout", "aten::alpha_dropout_", "aten::feature_alpha_dropout",
                           "aten::feature_alpha_dropout_"})
    registry.add(name, {"Identity"}, convert_dropout);
}

}  // namespace mltk::onnx_export
