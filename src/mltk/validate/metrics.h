#pragma once
// Numerical comparison of a reference output (LibTorch) with a candidate (an ONNX runtime).
#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mltk::validate {

// Floor of the denominator of the relative difference |a - b| / max(|a|, eps), a = reference.
// Without it, reference values at or near zero (common in logits) would make the ratio infinite
// or meaningless; 1e-6 is well below the magnitude of typical activations yet above float32
// rounding noise around zero, so such elements contribute |a - b| * 1e6 instead.
constexpr double kRelativeDiffEpsilon = 1e-6;

struct Metrics {
  double max_abs_diff = 0.0;
  double mse = 0.0;
  double mae = 0.0;
  // 1 when both tensors are all zero, 0 when exactly one is.
  double cosine_similarity = 1.0;
  double max_rel_diff = 0.0;
  // Fraction of rows whose argmax agrees (first maximum on ties). Rows are the slices along
  // dim 0, a rank-1 tensor is one row; absent for scalars and for tensors with no elements.
  std::optional<double> top1_agreement;
};

struct Comparison {
  std::vector<int64_t> reference_shape;
  std::vector<int64_t> candidate_shape;
  int64_t num_elements = 0;
  // Present when the tensors could be compared; otherwise `failure` says why (shape mismatch,
  // NaN or Inf values) and the verdict is FAIL.
  std::optional<Metrics> metrics;
  std::string failure;
};

// Computes all metrics in double precision over every element. Tensors may differ in dtype and
// device; they must have the same shape.
Comparison compare(const torch::Tensor& reference, const torch::Tensor& candidate);

}  // namespace mltk::validate
