// Normalisation layers, inference semantics only.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> batch_normalization(const OpContext& ctx) {
  // Opset 14+ marks training graphs with training_mode; older training graphs request the
  // running-statistics outputs instead. Neither is an inference graph.
  if (ctx.attr_int("training_mode", 0) != 0 || ctx.output_count() > 1) {
    ctx.fail("training mode (batch statistics) is not supported");
  }
  // Opsets 7 and 8 could ask for per-element rather than per-channel statistics.
  if (ctx.attr_int("spatial", 1) == 0) ctx.fail("spatial=0 (per-element statistics) is not supported");
  return {torch::batch_norm(ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3), ctx.input(4),
                            /*training=*/false, /*momentum=*/0.0, ctx.attr_float("epsilon", 1e-5F),
                            /*cudnn_enabled=*/false)};
}

std::vector<torch::Tensor> layer_normalization(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", -1), x.dim());
  std::vector<int64_t> dims;
  for (int64_t d = axis; d < x.dim(); ++d) dims.push_back(d);
  // stash_type selects the precision of mean/variance; 1 (FLOAT) is the default.
  const bool stash_float = ctx.attr_int("stash_type", 1) == 1;
  const auto stashed = stash_float ? x.to(torch::kFloat) : x;
  const auto mean = stashed.mean(dims, /*keepdim=*/true);
  const auto centered = stashed - mean;
  const auto variance = (centered * centered).mean(dims, /*keepdim=*/true);
  const auto inv_std_dev = torch::rsqrt(variance + ctx.attr_float("epsilon", 1e-5F));
  auto y = (centered * inv_std_dev).to(x.scalar_type()) * ctx.input(1);
  if (ctx.has_input(2)) y = y + ctx.input(2);
  return {y, mean, inv_std_dev};
}

std::vector<torch::Tensor> instance_normalization(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  if (x.dim() < 3) ctx.fail("input must be N x C x D1 x ...");
  if (ctx.input(1).numel() != x.size(1) || ctx.input(2).numel() != x.size(1)) {
    ctx.fail("scale and B must hold one value per channel");
  }
  return {torch::instance_norm(x, ctx.input(1), ctx.input(2), /*running_mean=*/{}, /*running_var=*/{},
                               /*use_input_stats=*/true, /*momentum=*/0.0, ctx.attr_float("epsilon", 1e-5F),
                               /*cudnn_enabled=*/false)};
}

}  // namespace

void register_normalization_ops(OperatorRegistry& registry) {
  registry.add("BatchNormalization", batch_normalization);
  registry.add("LayerNormalization", layer_normalization);
  registry.add("InstanceNormalization", instance_normalization);
}

}  // namespace mltk::runtime
