// Convolutions and pooling.
#include "mltk/onnx_export/converters.h"

#include <algorithm>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// aten lists one padding per spatial dimension; ONNX wants begin and end paddings.
std::vector<int64_t> symmetric_pads(const std::vector<int64_t>& padding) {
  auto pads = padding;
  pads.insert(pads.end(), padding.begin(), padding.end());
  return pads;
}

// aten accepts a single value for all spatial dimensions.
std::vector<int64_t> per_spatial_dim(std::vector<int64_t> values, size_t spatial_dims) {
  if (values.size() == 1 && spatial_dims > 1) values.assign(spatial_dims, values.front());
  return values;
}

// Argument positions, which differ between the aten convolution operators. aten::_convolution has
// output_padding and a flag choosing between a direct and a transposed convolution.
struct ConvolutionArgs {
  size_t stride, padding, dilation, groups;
  std::optional<size_t> output_padding, transposed_flag;
};

std::string convolution(ConversionContext& ctx, const ConvolutionArgs& args) {
  const auto weight_sizes = ctx.sizes(1);
  const size_t spatial = weight_sizes.size() - 2;
  std::vector<std::string> inputs{ctx.input(0), ctx.input(1)};
  if (!ctx.is_none(2)) inputs.push_back(ctx.input(2));

  std::vector<Attribute> attributes{
      {"kernel_shape", std::vector<int64_t>(weight_sizes.begin() + 2, weight_sizes.end())},
      {"strides", per_spatial_dim(ctx.ints_arg(args.stride), spatial)},
      {"dilations", per_spatial_dim(ctx.ints_arg(args.dilation), spatial)},
      {"group", ctx.int_arg(args.groups)}};
  // Padding "same"/"valid" is a string. torch pads "same" with the odd pixel at the end, as SAME_UPPER.
  if (ctx.static_value(ctx.node().input(args.padding)).isString()) {
    const auto mode = ctx.string_arg(args.padding);
    attributes.emplace_back("auto_pad", mode == "same" ? "SAME_UPPER" : "VALID");
  } else {
    attributes.emplace_back("pads", symmetric_pads(per_spatial_dim(ctx.ints_arg(args.padding), spatial)));
  }
  if (args.transposed_flag && ctx.bool_arg(*args.transposed_flag)) {
    attributes.emplace_back("output_padding", per_spatial_dim(ctx.ints_arg(*args.output_padding), spatial));
    return ctx.op("ConvTranspose", inputs, attributes);
  }
  return ctx.op("Conv", inputs, attributes);
}

// aten::conv1d/conv2d/conv3d(input, weight, bias, stride, padding, dilation, groups), and
// aten::_convolution_mode, as which LibTorch traces convolutions with padding "same"/"valid".
std::string convert_conv(ConversionContext& ctx) { return convolution(ctx, {3, 4, 5, 6, std::nullopt, std::nullopt}); }

// aten::_convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...)
// LibTorch's ConvTranspose modules are traced as this operator with transposed = true.
std::string convert_underscore_convolution(ConversionContext& ctx) { return convolution(ctx, {3, 4, 5, 8, 7, 6}); }

size_t spatial_dims(ConversionContext& ctx) { return static_cast<size_t>(ctx.rank(0) - 2); }

// An empty stride means "same as the kernel".
std::vector<int64_t> pool_stride(ConversionContext& ctx, size_t index, const std::vector<int64_t>& kernel) {
  const auto stride = ctx.ints_arg(index);
  return stride.empty() ? kernel : per_spatial_dim(stride, kernel.size());
}

// aten::max_pool{1,2,3}d(input, kernel_size, stride, padding, dilation, ceil_mode)
std::string convert_max_pool(ConversionContext& ctx) {
  const auto spatial = spatial_dims(ctx);
  const auto kernel = per_spatial_dim(ctx.ints_arg(1), spatial);
  return ctx.op("MaxPool", {ctx.input(0)},
                {{"kernel_shape", kernel},
                 {"strides", pool_stride(ctx, 2, kernel)},
                 {"pads", symmetric_pads(per_spatial_dim(ctx.ints_arg(3), spatial))},
                 {"dilations", per_spatial_dim(ctx.ints_arg(4), spatial)},
                 {"ceil_mode", int64_t{ctx.bool_arg(5)}}});
}

// aten::avg_pool{2,3}d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
// divisor_override) and avg_pool1d(input, kernel_size, stride, padding, ceil_mode, count_include_pad).
std::string convert_avg_pool(ConversionContext& ctx) {
  if (ctx.node().inputs().size() > 6 && !ctx.is_none(6))
    throw std::invalid_argument("divisor_override has no ONNX equivalent");
  const auto spatial = spatial_dims(ctx);
  const auto kernel = per_spatial_dim(ctx.ints_arg(1), spatial);
  return ctx.op("AveragePool", {ctx.input(0)},
                {{"kernel_shape", kernel},
                 {"strides", pool_stride(ctx, 2, kernel)},
                 {"pads", symmetric_pads(per_spatial_dim(ctx.ints_arg(3), spatial))},
                 {"ceil_mode", int64_t{ctx.bool_arg(4)}},
                 {"count_include_pad", int64_t{ctx.bool_arg(5)}}});
}

// Adaptive pooling to `output_size`. ONNX has none: an output of ones is a global pool; otherwise
// every input side must be a multiple of its output side, where adaptive pooling degenerates to a
// fixed-window pool.
std::string adaptive_pool(ConversionContext& ctx, const std::string& global_type, const std::string& window_type) {
  const auto spatial = spatial_dims(ctx);
  const auto output_size = per_spatial_dim(ctx.ints_arg(1), spatial);
  if (std::all_of(output_size.begin(), output_size.end(), [](int64_t side) { return side == 1; }))
    return ctx.op(global_type, {ctx.input(0)});
  const auto input_sizes = ctx.sizes(0);
  std::vector<int64_t> kernel;
  for (size_t i = 0; i < spatial; ++i) {
    const auto in = input_sizes[2 + i];
    if (in % output_size[i] != 0)
      throw std::invalid_argument("input side " + std::to_string(in) + " is not a multiple of output side " +
                                  std::to_string(output_size[i]) +
                                  "; ONNX can only express evenly divided adaptive pooling");
    kernel.push_back(in / output_size[i]);
  }
  return ctx.op(window_type, {ctx.input(0)}, {{"kernel_shape", kernel}, {"strides", kernel}});
}

// aten::adaptive_avg_pool{1,2,3}d(input, output_size)
std::string convert_adaptive_avg_pool(ConversionContext& ctx) {
  return adaptive_pool(ctx, "GlobalAveragePool", "AveragePool");
}

// aten::adaptive_max_pool{1,2}d(input, output_size) -> (values, indices). ONNX MaxPool's indices
// are not torch's, so a graph that reads them cannot be exported.
std::vector<std::string> convert_adaptive_max_pool(ConversionContext& ctx) {
  if (ctx.node().output(1)->hasUses())
    throw std::invalid_argument("the indices of adaptive max pooling have no ONNX equivalent");
  const auto values = adaptive_pool(ctx, "GlobalMaxPool", "MaxPool");
  return {values, values};
}

}  // namespace

void register_convolution_ops(ConverterRegistry& registry) {
  registry.add("aten::conv1d", {"Conv"}, convert_conv);
  registry.add("aten::conv2d", {"Conv"}, convert_conv);
  registry.add("aten::conv3d", {"Conv"}, convert_conv);
  registry.add("aten::_convolution", {"Conv", "ConvTranspose"}, convert_underscore_convolution);
  registry.add("aten::_convolution_mode", {"Conv"}, convert_conv);
  for (const auto* name : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d"})
    registry.add(name, {"MaxPool"}, convert_max_pool);
  for (const auto* name : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"})
    registry.add(name, {"AveragePool"}, convert_avg_pool);
  for (const auto* name : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d"})
    registry.add(name, {"GlobalAveragePool", "AveragePool"}, convert_adaptive_avg_pool);
  for (const auto* name : {"aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d"})
    registry.add_outputs(name, {"GlobalMaxPool", "MaxPool"}, convert_adaptive_max_pool);
}

}  // namespace mltk::onnx_export
