// Resize (opsets 11 and later), computed the way ONNX's reference implementation does: one
// axis at a time, each output coordinate mapped back to a source coordinate and interpolated
// from its neighbours, with indices past the edges clamped (edge padding).
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace mltk::runtime {
namespace {

struct ResizeOptions {
  std::string mode;
  std::string coordinate_mode;
  std::string nearest_mode;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0.0;
};

// One output position along an axis: source indices (before clamping), their weights, and
// whether tf_crop_and_resize places it outside the input (it then takes extrapolation_value).
struct Taps {
  std::vector<int64_t> indices;
  std::vector<double> weights;
  bool outside = false;
};

// Maps output coordinate `x` back to the input. `scale` is the axis's scale factor; like the
// reference, align_corners and tf_crop_and_resize use the unrounded output length in * scale.
double source_coordinate(const OpContext& ctx, const ResizeOptions& o, double x, int64_t in, double scale,
                         double roi_start, double roi_end) {
  const double out = scale * static_cast<double>(in);
  const auto last = static_cast<double>(in - 1);
  if (o.coordinate_mode == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (o.coordinate_mode == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (o.coordinate_mode == "align_corners") return out == 1 ? 0.0 : x * last / (out - 1);
  if (o.coordinate_mode == "asymmetric") return x / scale;
  if (o.coordinate_mode == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (o.coordinate_mode == "tf_crop_and_resize") {
    const double span = (roi_end - roi_start) * last;
    return roi_start * last + (out == 1 ? span / 2 : x * span / (out - 1));
  }
  ctx.fail("unknown coordinate_transformation_mode '" + o.coordinate_mode + "'");
}

int64_t nearest_index(const OpContext& ctx, const ResizeOptions& o, double x) {
  if (o.nearest_mode == "round_prefer_floor") return static_cast<int64_t>(std::ceil(x - 0.5));
  if (o.nearest_mode == "round_prefer_ceil") return static_cast<int64_t>(std::floor(x + 0.5));
  if (o.nearest_mode == "floor") return static_cast<int64_t>(std::floor(x));
  if (o.nearest_mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  ctx.fail("unknown nearest_mode '" + o.nearest_mode + "'");
}

// Keys' cubic convolution weights for the four neighbours at distances 1 + t, t, 1 - t, 2 - t.
std::vector<double> cubic_weights(double t, double a) {
  const auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };
  const auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

Taps taps_for(const OpContext& ctx, const ResizeOptions& o, double x, int64_t in) {
  Taps taps;
  taps.outside = o.coordinate_mode == "tf_crop_and_resize" && (x < 0 || x > static_cast<double>(in - 1));
  if (o.mode == "nearest") {
    taps.indices = {nearest_index(ctx, o, x)};
    taps.weights = {1.0};
    return taps;
  }
  // Neighbours start at the index left of x; a whole x counts as the right end of its interval
  // (weight t = 1), as in the reference, which only matters for exclude_outside.
  auto left = static_cast<int64_t>(std::floor(x));
  double t = x - static_cast<double>(left);
  if (t == 0.0) {
    left -= 1;
    t = 1.0;
  }
  if (o.mode == "linear") {
    taps.indices = {left, left + 1};
    taps.weights = {1 - t, t};
  } else if (o.mode == "cubic") {
    taps.indices = {left - 1, left, left + 1, left + 2};
    taps.weights = cubic_weights(t, o.cubic_a);
  } else {
    ctx.fail("unknown mode '" + o.mode + "'");
  }
  if (o.exclude_outside) {
    double total = 0.0;
    for (size_t i = 0; i < taps.indices.size(); ++i) {
      if (taps.indices[i] < 0 || taps.indices[i] >= in) taps.weights[i] = 0.0;
      total += taps.weights[i];
    }
    for (auto& weight : taps.weights) weight /= total;
  }
  return taps;
}

// Resizes `x` along `axis` to `out` positions.
torch::Tensor resize_axis(const OpContext& ctx, const ResizeOptions& o, const torch::Tensor& x, int64_t axis,
                          int64_t out, double scale, double roi_start, double roi_end) {
  const int64_t in = x.size(axis);
  std::vector<Taps> positions;
  for (int64_t i = 0; i < out; ++i) {
    const double source = source_coordinate(ctx, o, static_cast<double>(i), in, scale, roi_start, roi_end);
    positions.push_back(taps_for(ctx, o, source, in));
  }
  std::vector<int64_t> broadcast(x.dim(), 1);
  broadcast[axis] = out;
  const auto longs = torch::TensorOptions().dtype(torch::kLong);
  const auto doubles = torch::TensorOptions().dtype(torch::kDouble);
  torch::Tensor result;
  for (size_t tap = 0; tap < positions.front().indices.size(); ++tap) {
    std::vector<int64_t> indices;
    std::vector<double> weights;
    for (const auto& p : positions) {
      indices.push_back(std::clamp<int64_t>(p.indices[tap], 0, in - 1));
      weights.push_back(p.weights[tap]);
    }
    const auto picked = x.index_select(axis, torch::tensor(indices, longs));
    // Nearest copies values, keeping every dtype exact (and inf/NaN from leaking into neighbours).
    if (o.mode == "nearest") {
      result = picked;
      break;
    }
    const auto term = picked * torch::tensor(weights, doubles).to(x.scalar_type()).reshape(broadcast);
    result = result.defined() ? result + term : term;
  }
  std::vector<uint8_t> outside;
  for (const auto& p : positions) outside.push_back(p.outside ? 1 : 0);
  if (std::find(outside.begin(), outside.end(), 1) == outside.end()) return result;
  const auto outside_mask = torch::tensor(outside).to(torch::kBool).reshape(broadcast);
  return result.masked_fill(outside_mask, o.extrapolation_value);
}

std::vector<torch::Tensor> resize(const OpContext& ctx) {
  if (ctx.opset() < 11) {
    ctx.fail("Resize before opset 11 (no coordinate_transformation_mode) is not supported; export at opset 11+");
  }
  if (ctx.has_attribute("axes") || ctx.attr_int("antialias", 0) != 0) {
    ctx.fail("the opset 18 attributes axes and antialias are not supported");
  }
  const auto& x = ctx.input(0);
  const int64_t rank = x.dim();
  ResizeOptions o;
  o.mode = ctx.attr_string("mode", "nearest");
  if (o.mode != "nearest" && !x.is_floating_point()) ctx.fail("mode '" + o.mode + "' needs floating-point input");
  o.coordinate_mode = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  o.nearest_mode = ctx.attr_string("nearest_mode", "round_prefer_floor");
  o.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75F);
  o.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  o.extrapolation_value = ctx.attr_float("extrapolation_value", 0.0F);

  // Exactly one of scales and sizes is given; opset 11 passes an empty scales with sizes.
  const bool has_scales = ctx.has_input(2) && ctx.input(2).numel() > 0;
  const bool has_sizes = ctx.has_input(3) && ctx.input(3).numel() > 0;
  if (has_scales == has_sizes) ctx.fail("exactly one of scales and sizes must be given");
  std::vector<double> scales(rank);
  std::vector<int64_t> sizes(rank);
  if (has_scales) {
    const auto values = ctx.input(2).to(torch::kDouble).contiguous();
    if (values.numel() != rank) ctx.fail("scales must hold one value per input axis");
    for (int64_t d = 0; d < rank; ++d) {
      scales[d] = values[d].item<double>();
      if (scales[d] <= 0) ctx.fail("scales must be positive");
      sizes[d] = static_cast<int64_t>(std::floor(scales[d] * static_cast<double>(x.size(d))));
    }
  } else {
    sizes = ctx.input_ints(3);
    if (static_cast<int64_t>(sizes.size()) != rank) ctx.fail("sizes must hold one value per input axis");
    for (int64_t d = 0; d < rank; ++d) {
      if (sizes[d] <= 0 || x.size(d) == 0) ctx.fail("sizes and input dimensions must be positive");
      scales[d] = static_cast<double>(sizes[d]) / static_cast<double>(x.size(d));
    }
  }
  // roi lists all starts, then all ends, normalised to [0, 1]; only tf_crop_and_resize reads it.
  std::vector<double> roi(2 * rank, 1.0);
  std::fill(roi.begin(), roi.begin() + rank, 0.0);
  if (o.coordinate_mode == "tf_crop_and_resize") {
    const auto values = ctx.input(1).to(torch::kDouble).contiguous();
    if (values.numel() != 2 * rank) ctx.fail("roi must hold a start and an end per input axis");
    for (int64_t i = 0; i < 2 * rank; ++i) roi[i] = values[i].item<double>();
  }
  auto y = x;
  for (int64_t d = 0; d < rank; ++d) {
    if (sizes[d] <= 0) ctx.fail("scales leave no output along axis " + std::to_string(d));
    y = resize_axis(ctx, o, y, d, sizes[d], scales[d], roi[d], roi[d + rank]);
  }
  return {y};
}

}  // namespace

void register_resize_ops(OperatorRegistry& registry) { registry.add("Resize", resize); }

}  // namespace mltk::runtime
