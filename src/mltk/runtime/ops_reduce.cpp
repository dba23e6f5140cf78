// Reductions, arg-extremes, running sums and top-k selection along axes.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <algorithm>
#include <functional>

namespace mltk::runtime {
namespace {

using Axes = std::vector<int64_t>;
using Reduction = std::function<torch::Tensor(const torch::Tensor&, const Axes&, bool)>;

// Applies `reduce` over the node's axes. `axes_input_since` is the opset from which axes is an
// optional input instead of an attribute (13 for ReduceSum, 18 for the others). Empty axes
// mean every axis, unless noop_with_empty_axes asks for the input unchanged.
std::vector<torch::Tensor> reduce_over_axes(const OpContext& ctx, int64_t axes_input_since, const Reduction& reduce) {
  const auto& x = ctx.input(0);
  Axes axes = ctx.opset() >= axes_input_since ? (ctx.has_input(1) ? ctx.input_ints(1) : Axes{}) : ctx.attr_ints("axes");
  if (axes.empty()) {
    if (ctx.attr_int("noop_with_empty_axes", 0) != 0) return {x};
    for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
  }
  for (auto& axis : axes) axis = normalize_axis(ctx, axis, x.dim());
  return {reduce(x, axes, /*keepdim=*/ctx.attr_int("keepdims", 1) != 0)};
}

std::vector<torch::Tensor> reduce_mean(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) { return x.mean(axes, keep); });
}

// ATen sums integers as int64; ONNX keeps the input type.
std::vector<torch::Tensor> reduce_sum(const OpContext& ctx) {
  return reduce_over_axes(ctx, 13, [](const auto& x, const Axes& axes, bool keep) {
    return x.sum(axes, keep, x.scalar_type());
  });
}

std::vector<torch::Tensor> reduce_sum_square(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) {
    return (x * x).sum(axes, keep, x.scalar_type());
  });
}

std::vector<torch::Tensor> reduce_l1(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) {
    return x.abs().sum(axes, keep, x.scalar_type());
  });
}

std::vector<torch::Tensor> reduce_l2(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) {
    return (x * x).sum(axes, keep).sqrt().to(x.scalar_type());
  });
}

std::vector<torch::Tensor> reduce_log_sum(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) { return x.sum(axes, keep).log(); });
}

std::vector<torch::Tensor> reduce_log_sum_exp(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) { return x.logsumexp(axes, keep); });
}

std::vector<torch::Tensor> reduce_max(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) { return x.amax(axes, keep); });
}

std::vector<torch::Tensor> reduce_min(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, const Axes& axes, bool keep) { return x.amin(axes, keep); });
}

std::vector<torch::Tensor> reduce_prod(const OpContext& ctx) {
  return reduce_over_axes(ctx, 18, [](const auto& x, Axes axes, bool keep) {
    // ATen's prod reduces one axis at a time; going from the last axis keeps the others' numbers.
    std::sort(axes.rbegin(), axes.rend());
    torch::Tensor result = x;
    for (int64_t axis : axes) result = result.prod(axis, keep, x.scalar_type());
    return result;
  });
}

// ArgMax/ArgMin ties go to the first index, or the last with select_last_index (opset 12).
torch::Tensor arg_extreme(const OpContext& ctx, torch::Tensor (*first_index)(const torch::Tensor&,
                                                                              c10::optional<int64_t>, bool)) {
  const auto& x = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), x.dim());
  const bool keepdim = ctx.attr_int("keepdims", 1) != 0;
  if (ctx.attr_int("select_last_index", 0) == 0) return first_index(x, axis, keepdim);
  return x.size(axis) - 1 - first_index(x.flip(axis), axis, keepdim);
}

std::vector<torch::Tensor> arg_max(const OpContext& ctx) { return {arg_extreme(ctx, torch::argmax)}; }
std::vector<torch::Tensor> arg_min(const OpContext& ctx) { return {arg_extreme(ctx, torch::argmin)}; }

std::vector<torch::Tensor> cum_sum(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const auto axis_values = ctx.input_ints(1);
  if (axis_values.size() != 1) ctx.fail("axis must be a single value");
  const int64_t axis = normalize_axis(ctx, axis_values.front(), x.dim());
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  auto sums = (reverse ? x.flip(axis) : x).cumsum(axis, x.scalar_type());
  if (ctx.attr_int("exclusive", 0) != 0 && x.size(axis) > 0) {
    // Shifting by one along the axis leaves each element the sum of those before it.
    std::vector<int64_t> widths(2 * static_cast<size_t>(x.dim() - axis), 0);
    widths[widths.size() - 2] = 1;
    sums = torch::constant_pad_nd(sums.narrow(axis, 0, x.size(axis) - 1), widths, 0);
  }
  return {reverse ? sums.flip(axis) : sums};
}

std::vector<torch::Tensor> top_k(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", -1), x.dim());
  // k was an attribute before opset 10.
  int64_t k = ctx.attr_int("k", -1);
  if (ctx.opset() >= 10) {
    const auto k_values = ctx.input_ints(1);
    if (k_values.size() != 1) ctx.fail("K must be a single value");
    k = k_values.front();
  }
  if (k < 0 || k > x.size(axis)) {
    ctx.fail("k = " + std::to_string(k) + " must lie in [0, " + std::to_string(x.size(axis)) + "], the axis size");
  }
  // A stable sort keeps equal values in index order, the tie order ONNX requires. Unsorted
  // output (sorted=0) may come in any order, so sorted order serves too.
  const auto [values, indices] = torch::sort(x, /*stable=*/true, axis, /*descending=*/ctx.attr_int("largest", 1) != 0);
  return {values.narrow(axis, 0, k), indices.narrow(axis, 0, k)};
}

}  // namespace

void register_reduce_ops(OperatorRegistry& registry) {
  registry.add("ReduceMean", reduce_mean);
  registry.add("ReduceSum", reduce_sum);
  registry.add("ReduceSumSquare", reduce_sum_square);
  registry.add("ReduceL1", reduce_l1);
  registry.add("ReduceL2", reduce_l2);
  registry.add("ReduceLogSum", reduce_log_sum);
  registry.add("ReduceLogSumExp", reduce_log_sum_exp);
  registry.add("ReduceMax", reduce_max);
  registry.add("ReduceMin", reduce_min);
  registry.add("ReduceProd", reduce_prod);
  registry.add("ArgMax", arg_max);
  registry.add("ArgMin", arg_min);
  registry.add("CumSum", cum_sum);
  registry.add("TopK", top_k);
}

}  // namespace mltk::runtime
