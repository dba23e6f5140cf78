// Reductions.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

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

}  // namespace

void register_reduce_ops(OperatorRegistry& registry) {
  registry.add("ReduceMean", reduce_mean);
  registry.add("ReduceSum", reduce_sum);
}

}  // namespace mltk::runtime
