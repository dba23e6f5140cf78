#include "mltk/validate/metrics.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace mltk::validate {

namespace {

std::string describe_non_finite(const char* which, const double* data, int64_t n) {
  int64_t nan = 0;
  int64_t inf = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(data[i])) ++nan;
    if (std::isinf(data[i])) ++inf;
  }
  if (nan == 0 && inf == 0) return "";
  return fmt::format("{} contains {} NaN and {} Inf value(s)", which, nan, inf);
}

int64_t argmax(const double* row, int64_t length) {
  return std::max_element(row, row + length) - row;  // first maximum on ties
}

std::optional<double> top1_agreement(const double* a, const double* b, const std::vector<int64_t>& shape,
                                     int64_t n) {
  if (shape.empty() || n == 0) return std::nullopt;
  const int64_t rows = shape.size() == 1 ? 1 : shape[0];
  const int64_t row_length = n / rows;
  int64_t agree = 0;
  for (int64_t r = 0; r < rows; ++r) {
    agree += argmax(a + r * row_length, row_length) == argmax(b + r * row_length, row_length);
  }
  return static_cast<double>(agree) / static_cast<double>(rows);
}

}  // namespace

Comparison compare(const torch::Tensor& reference, const torch::Tensor& candidate) {
  Comparison result;
  result.reference_shape = reference.sizes().vec();
  result.candidate_shape = candidate.sizes().vec();
  if (result.reference_shape != result.candidate_shape) {
    result.failure = fmt::format("shape mismatch: reference [{}] vs candidate [{}]",
                                 fmt::join(result.reference_shape, ", "), fmt::join(result.candidate_shape, ", "));
    return result;
  }

  const auto as_double = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kDouble).contiguous(); };
  const torch::Tensor ref = as_double(reference);
  const torch::Tensor cand = as_double(candidate);
  const double* a = ref.data_ptr<double>();
  const double* b = cand.data_ptr<double>();
  const int64_t n = ref.numel();
  result.num_elements = n;

  std::vector<std::string> problems;
  for (const auto& problem : {describe_non_finite("reference", a, n), describe_non_finite("candidate", b, n)}) {
    if (!problem.empty()) problems.push_back(problem);
  }
  if (!problems.empty()) {
    result.failure = fmt::format("{}", fmt::join(problems, "; "));
    return result;
  }

  Metrics m;
  double sum_sq = 0.0, sum_abs = 0.0, dot = 0.0, norm_a = 0.0, norm_b = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = std::abs(a[i] - b[i]);
    m.max_abs_diff = std::max(m.max_abs_diff, diff);
    m.max_rel_diff = std::max(m.max_rel_diff, diff / std::max(std::abs(a[i]), kRelativeDiffEpsilon));
    sum_abs += diff;
    sum_sq += diff * diff;
    dot += a[i] * b[i];
    norm_a += a[i] * a[i];
    norm_b += b[i] * b[i];
  }
  if (n > 0) {
    m.mse = sum_sq / static_cast<double>(n);
    m.mae = sum_abs / static_cast<double>(n);
  }
  if (norm_a == 0.0 && norm_b == 0.0) {
    m.cosine_similarity = 1.0;  // identical (both all zero, or empty)
  } else if (norm_a == 0.0 || norm_b == 0.0) {
    m.cosine_similarity = 0.0;  // no direction to agree with
  } else {
    // Rounding can push the ratio a hair past +-1.
    m.cosine_similarity = std::clamp(dot / (std::sqrt(norm_a) * std::sqrt(norm_b)), -1.0, 1.0);
  }
  m.top1_agreement = top1_agreement(a, b, result.reference_shape, n);
  result.metrics = m;
  return result;
}

}  // namespace mltk::validate
