#include "mltk/models/truncated_normal.h"

#include "mltk/models/skip_initialisation.h"

#include <torch/utils.h>

#include <cmath>

namespace mltk::models {
namespace {

double normal_cdf(double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; }

}  // namespace

void trunc_normal_(torch::Tensor tensor, double mean, double std, double a, double b) {
  if (initialisation_skipped()) return;
  torch::NoGradGuard no_grad;
  // Inverse-CDF sampling in PyTorch's order of operations, so that a given seed draws the same
  // values as torch.nn.init.trunc_normal_.
  const double low = normal_cdf((a - mean) / std);
  const double high = normal_cdf((b - mean) / std);
  tensor.uniform_(2.0 * low - 1.0, 2.0 * high - 1.0);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0));
  tensor.add_(mean);
  tensor.clamp_(a, b);
}

}  // namespace mltk::models
