// Convolution and pooling. ONNX allows asymmetric padding (pads = [x1_begin, x2_begin, ...,
// x1_end, x2_end, ...]) and SAME_* auto padding, which ATen kernels cannot express, so uneven
// padding is applied explicitly with constant_pad_nd before calling an unpadded kernel.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

namespace mltk::runtime {
namespace {

struct Window {
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads_begin;
  std::vector<int64_t> pads_end;

  bool symmetric() const { return pads_begin == pads_end; }
  bool unpadded() const {
    return std::all_of(pads_begin.begin(), pads_begin.end(), [](int64_t p) { return p == 0; }) &&
           std::all_of(pads_end.begin(), pads_end.end(), [](int64_t p) { return p == 0; });
  }
};

Window window_for(const OpContext& ctx, const torch::Tensor& x, std::vector<int64_t> kernel) {
  const auto spatial = static_cast<size_t>(x.dim() - 2);
  if (kernel.size() != spatial) ctx.fail("kernel_shape rank does not match the input's spatial rank");
  Window w;
  w.kernel = std::move(kernel);
  w.strides = ctx.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  w.dilations = ctx.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    const auto pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
    if (pads.size() != 2 * spatial) ctx.fail("pads must hold a begin and an end value per spatial axis");
    w.pads_begin.assign(pads.begin(), pads.begin() + spatial);
    w.pads_end.assign(pads.begin() + spatial, pads.end());
  } else if (auto_pad == "VALID") {
    w.pads_begin.assign(spatial, 0);
    w.pads_end.assign(spatial, 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Pad so that output = ceil(input / stride); the odd pixel goes to the end for SAME_UPPER.
    for (size_t i = 0; i < spatial; ++i) {
      const int64_t in = x.size(static_cast<int64_t>(i) + 2);
      const int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
      const int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - in);
      const int64_t small = total / 2;
      w.pads_begin.push_back(auto_pad == "SAME_UPPER" ? small : total - small);
      w.pads_end.push_back(auto_pad == "SAME_UPPER" ? total - small : small);
    }
  } else {
    ctx.fail("unknown auto_pad '" + auto_pad + "'");
  }
  return w;
}

torch::Tensor pad_spatial(const torch::Tensor& x, const Window& w, double value) {
  // constant_pad_nd lists (begin, end) pairs starting from the last dimension.
  std::vector<int64_t> pad;
  for (size_t i = w.pads_begin.size(); i-- > 0;) {
    pad.push_back(w.pads_begin[i]);
    pad.push_back(w.pads_end[i]);
  }
  return torch::constant_pad_nd(x, pad, value);
}

// In ceil mode a window that would start inside the end padding is dropped (the rule PyTorch
// and ONNX >= 1.16 use). Pooling the explicitly padded input sees that padding as input, so
// such trailing windows are removed here.
torch::Tensor drop_windows_starting_in_end_padding(const torch::Tensor& pooled, const torch::Tensor& x,
                                                   const Window& w) {
  auto result = pooled;
  for (size_t i = 0; i < w.kernel.size(); ++i) {
    const auto d = static_cast<int64_t>(i) + 2;
    int64_t out = result.size(d);
    if (out > 0 && (out - 1) * w.strides[i] >= x.size(d) + w.pads_begin[i]) result = result.narrow(d, 0, out - 1);
  }
  return result;
}

std::vector<torch::Tensor> conv(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const auto& weight = ctx.input(1);
  const torch::Tensor bias = ctx.has_input(2) ? ctx.input(2) : torch::Tensor();
  const auto kernel = ctx.attr_ints("kernel_shape", weight.sizes().slice(2).vec());
  const Window w = window_for(ctx, x, kernel);
  const std::vector<int64_t> no_output_padding(w.kernel.size(), 0);
  const torch::Tensor input = w.symmetric() ? x : pad_spatial(x, w, 0.0);
  const auto padding = w.symmetric() ? w.pads_begin : std::vector<int64_t>(w.kernel.size(), 0);
  return {torch::convolution(input, weight, bias, w.strides, padding, w.dilations, /*transposed=*/false,
                             no_output_padding, ctx.attr_int("group", 1))};
}

// ONNX derives ConvTranspose padding from output_shape with Python's floor division, which
// differs from C++ division when output_shape asks for more than the full output.
int64_t floor_half(int64_t value) { return value >= 0 ? value / 2 : -((1 - value) / 2); }

std::vector<torch::Tensor> conv_transpose(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const auto& weight = ctx.input(1);
  if (x.dim() < 3 || weight.dim() != x.dim()) ctx.fail("X and W must have the same rank, at least 3");
  const auto spatial = static_cast<size_t>(x.dim() - 2);
  const auto kernel = weight.sizes().slice(2).vec();
  if (ctx.attr_ints("kernel_shape", kernel) != kernel) ctx.fail("kernel_shape does not match W's spatial shape");
  const int64_t group = ctx.attr_int("group", 1);
  if (group <= 0 || x.size(1) % group != 0 || weight.size(0) != x.size(1)) {
    ctx.fail("W must have X's channel count as its first dimension, divisible by group");
  }
  Window w = window_for(ctx, x, kernel);
  const auto output_padding = ctx.attr_ints("output_padding", std::vector<int64_t>(spatial, 0));
  auto output_shape = ctx.attr_ints("output_shape");
  // Some exporters list N and C in output_shape as well.
  if (output_shape.size() == spatial + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  const bool same_upper = auto_pad == "SAME_UPPER";
  if (output_shape.empty() && (same_upper || auto_pad == "SAME_LOWER")) {
    for (size_t i = 0; i < spatial; ++i) output_shape.push_back(x.size(static_cast<int64_t>(i) + 2) * w.strides[i]);
  }
  if (output_padding.size() != spatial || (!output_shape.empty() && output_shape.size() != spatial)) {
    ctx.fail("output_padding and output_shape must hold one value per spatial axis");
  }
  // The unpadded output of each axis is stride * (in - 1) + dilated kernel extent.
  std::vector<int64_t> full(spatial);
  for (size_t i = 0; i < spatial; ++i) {
    full[i] = w.strides[i] * (x.size(static_cast<int64_t>(i) + 2) - 1) + (w.kernel[i] - 1) * w.dilations[i] + 1;
  }
  for (size_t i = 0; i < output_shape.size(); ++i) {
    // output_shape overrides pads; SAME_UPPER puts the odd padding at the end, otherwise at the start.
    const int64_t total = full[i] + output_padding[i] - output_shape[i];
    const int64_t half = floor_half(total);
    w.pads_begin[i] = same_upper ? half : total - half;
    w.pads_end[i] = same_upper ? total - half : half;
  }
  for (size_t i = 0; i < spatial; ++i) {
    if (full[i] + output_padding[i] - w.pads_begin[i] - w.pads_end[i] <= 0) {
      ctx.fail("pads leave no output along spatial axis " + std::to_string(i));
    }
  }
  const std::vector<int64_t> zeros(spatial, 0);
  auto y = torch::convolution(x, weight, /*bias=*/{}, w.strides, zeros, w.dilations, /*transposed=*/true, zeros, group);
  // Cropping pads and appending output_padding (rows no input reaches) is one pad with signed widths.
  std::vector<int64_t> widths;
  for (size_t i = spatial; i-- > 0;) {
    widths.push_back(-w.pads_begin[i]);
    widths.push_back(output_padding[i] - w.pads_end[i]);
  }
  y = torch::constant_pad_nd(y, widths, 0.0);
  if (!ctx.has_input(2)) return {y};
  if (ctx.input(2).numel() != y.size(1)) ctx.fail("B must hold one value per output channel");
  std::vector<int64_t> bias_shape(y.dim(), 1);
  bias_shape[1] = -1;
  return {y + ctx.input(2).reshape(bias_shape)};
}

// Converts ATen max-pool indices (flat within each padded spatial plane) into ONNX Indices:
// flat over the whole unpadded input, row-major (storage_order 0) or column-major (1).
torch::Tensor onnx_pool_indices(const torch::Tensor& indices, const torch::Tensor& x, const torch::Tensor& padded,
                                const Window& w, int64_t storage_order) {
  const int64_t spatial = x.dim() - 2;
  std::vector<torch::Tensor> coords(spatial);
  auto rest = indices;
  for (int64_t d = spatial; d-- > 0;) {
    coords[d] = torch::remainder(rest, padded.size(d + 2)) - w.pads_begin[d];
    rest = torch::div(rest, padded.size(d + 2), "floor");
  }
  auto flat = torch::zeros_like(indices);
  for (int64_t i = 0; i < spatial; ++i) {
    const int64_t d = storage_order == 0 ? i : spatial - 1 - i;
    flat = flat * x.size(d + 2) + coords[d];
  }
  const int64_t plane = c10::multiply_integers(x.sizes().slice(2));
  std::vector<int64_t> channel_shape = {x.size(0), x.size(1)};
  channel_shape.resize(x.dim(), 1);
  return flat + torch::arange(x.size(0) * x.size(1), indices.options()).view(channel_shape) * plane;
}

std::vector<torch::Tensor> max_pool(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  Window w = window_for(ctx, x, ctx.attr_ints("kernel_shape"));
  // ATen's max-pool kernels are floating-point only; integer inputs (uint8) round-trip exactly.
  const auto floating = x.is_floating_point() ? x : x.to(torch::kFloat);
  auto padded = w.unpadded() ? floating : pad_spatial(floating, w, -std::numeric_limits<double>::infinity());
  const bool one_d = x.dim() == 3;
  if (one_d) {
    // ATen has no 1-D max pool with indices; pool a trailing unit axis with a unit window.
    padded = padded.unsqueeze(-1);
    w.kernel.push_back(1);
    w.strides.push_back(1);
    w.dilations.push_back(1);
    w.pads_begin.push_back(0);
    w.pads_end.push_back(0);
  }
  const std::vector<int64_t> zero_padding(w.kernel.size(), 0);
  const bool ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
  std::tuple<torch::Tensor, torch::Tensor> pooled;
  if (w.kernel.size() == 2) {
    pooled = torch::max_pool2d_with_indices(padded, w.kernel, w.strides, zero_padding, w.dilations, ceil_mode);
  } else if (w.kernel.size() == 3) {
    pooled = torch::max_pool3d_with_indices(padded, w.kernel, w.strides, zero_padding, w.dilations, ceil_mode);
  } else {
    ctx.fail("only 1-D, 2-D and 3-D pooling is supported");
  }
  const auto source = one_d ? x.unsqueeze(-1) : x;
  auto values = std::get<0>(pooled);
  auto indices = std::get<1>(pooled);
  if (ceil_mode) {
    values = drop_windows_starting_in_end_padding(values, source, w);
    indices = drop_windows_starting_in_end_padding(indices, source, w);
  }
  std::vector<torch::Tensor> outputs = {(one_d ? values.squeeze(-1) : values).to(x.scalar_type())};
  if (ctx.wants_output(1)) {
    auto onnx_indices = onnx_pool_indices(indices, source, padded, w, ctx.attr_int("storage_order", 0));
    outputs.push_back(one_d ? onnx_indices.squeeze(-1) : onnx_indices);
  }
  return outputs;
}

torch::Tensor avg_pool_unpadded(const OpContext& ctx, const torch::Tensor& x, const Window& w, bool ceil_mode) {
  const std::vector<int64_t> zero_padding(w.kernel.size(), 0);
  switch (w.kernel.size()) {
    case 1: return torch::avg_pool1d(x, w.kernel, w.strides, zero_padding, ceil_mode);
    case 2: return torch::avg_pool2d(x, w.kernel, w.strides, zero_padding, ceil_mode);
    case 3: return torch::avg_pool3d(x, w.kernel, w.strides, zero_padding, ceil_mode);
    default: ctx.fail("only 1-D, 2-D and 3-D pooling is supported");
  }
}

std::vector<torch::Tensor> average_pool(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const Window w = window_for(ctx, x, ctx.attr_ints("kernel_shape"));
  if (std::any_of(w.dilations.begin(), w.dilations.end(), [](int64_t d) { return d != 1; })) {
    ctx.fail("dilations are not supported");
  }
  const bool ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
  if (w.unpadded()) return {avg_pool_unpadded(ctx, x, w, ceil_mode)};
  auto averages = avg_pool_unpadded(ctx, pad_spatial(x, w, 0.0), w, ceil_mode);
  if (ctx.attr_int("count_include_pad", 0) == 0) {
    // Both poolings divide by the same window size, so their ratio averages over real pixels.
    averages = averages / avg_pool_unpadded(ctx, pad_spatial(torch::ones_like(x), w, 0.0), w, ceil_mode);
  }
  return {ceil_mode ? drop_windows_starting_in_end_padding(averages, x, w) : averages};
}

std::vector<int64_t> spatial_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

std::vector<torch::Tensor> global_average_pool(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  return {x.mean(spatial_dims(x), /*keepdim=*/true)};
}

std::vector<torch::Tensor> global_max_pool(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  return {x.amax(spatial_dims(x), /*keepdim=*/true)};
}

}  // namespace

void register_conv_pool_ops(OperatorRegistry& registry) {
  registry.add("Conv", conv);
  registry.add("ConvTranspose", conv_transpose);
  registry.add("MaxPool", max_pool);
  registry.add("AveragePool", average_pool);
  registry.add("GlobalAveragePool", global_average_pool);
  registry.add("GlobalMaxPool", global_max_pool);
}

}  // namespace mltk::runtime
