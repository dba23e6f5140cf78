#pragma once
// Turns comparison metrics into a PASS/WARN/FAIL verdict with the reasons behind it, and
// serialises the whole report as JSON for pipelines.
#include "mltk/validate/metrics.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mltk::validate {

enum class Status { Pass, Warn, Fail };
enum class Band { Excellent, Good, Poor };

std::string to_string(Status status);  // "PASS", "WARN", "FAIL"
std::string to_string(Band band);      // "excellent", "good", "poor"

// Quality bands. Each band edge belongs to "good", e.g. a max abs diff of exactly 1e-5 or 1e-4
// is good, a cosine of exactly 0.9999 or 0.999 is good.
//   max abs diff: < 1e-5 excellent, [1e-5, 1e-4] good, > 1e-4 poor
//   MSE:          < 1e-10 excellent, [1e-10, 1e-8] good, > 1e-8 poor
//   cosine:       > 0.9999 excellent, [0.999, 0.9999] good, < 0.999 poor
Band grade_max_abs_diff(double value);
Band grade_mse(double value);
Band grade_cosine(double value);

struct Grade {
  std::string metric;  // "max_abs_diff", "mse", "cosine_similarity"
  double value = 0.0;
  Band band = Band::Excellent;
};

struct Verdict {
  Status status = Status::Pass;
  std::vector<Grade> grades;         // empty when the tensors could not be compared
  std::vector<std::string> reasons;  // the metrics (or the failure) that decided the status
};

// FAIL when any graded metric is poor, else WARN when any is good, else PASS.
Verdict judge(double max_abs_diff, double mse, double cosine_similarity);
// As above from a comparison; a comparison that failed (shape mismatch, NaN/Inf) is FAIL with
// its failure as the reason.
Verdict judge(const Comparison& comparison);

struct Report {
  Comparison comparison;
  Verdict verdict;
};

Report evaluate(const torch::Tensor& reference, const torch::Tensor& candidate);

// {"status", "reasons", "reference_shape", "candidate_shape", "num_elements",
//  "metrics": {...} or null, "grades": {metric: band}, "relative_diff_epsilon"}
nlohmann::json to_json(const Report& report);

}  // namespace mltk::validate
