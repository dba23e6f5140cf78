// Reductions.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> reduce_mean(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  // Opset 18 moved axes from an attribute to an optional input.
  std::vector<int64_t> axes = ctx.opset() >= 18 ? (ctx.has_input(1) ? ctx.input_ints(1) : std::vector<int64_t>{})
                                                 : ctx.attr_ints("axes");
  if (axes.empty()) {
    if (ctx.attr_int("noop_with_empty_axes", 0) != 0) return {x};
    for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
  }
  for (auto& axis : axes) axis = normalize_axis(ctx, axis, x.dim());
  return {x.mean(axes, /*keepdim=*/ctx.attr_int("keepdims", 1) != 0)};
}

}  // namespace

void register_reduce_ops(OperatorRegistry& registry) { registry.add("ReduceMean", reduce_mean); }

}  // namespace mltk::runtime
