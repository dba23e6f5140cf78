#include "mltk/validate/verdict.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

using namespace mltk::validate;

namespace {

bool mentions(const std::vector<std::string>& reasons, const std::string& text) {
  for (const auto& reason : reasons) {
    if (reason.find(text) != std::string::npos) return true;
  }
  return false;
}

double below(double x) { return std::nextafter(x, 0.0); }
double above(double x) { return std::nextafter(x, 2.0); }

}  // namespace

TEST(ValidateVerdict, DocumentedPassExample) {
  const Verdict v = judge(1.19e-07, 2.45e-15, 0.999999);
  EXPECT_EQ(v.status, Status::Pass);
  ASSERT_EQ(v.grades.size(), 3u);
  for (const Grade& g : v.grades) EXPECT_EQ(g.band, Band::Excellent) << g.metric;
}

TEST(ValidateVerdict, DocumentedWarnExample) {
  const Verdict v = judge(5.32e-05, 1.87e-09, 0.999984);
  EXPECT_EQ(v.status, Status::Warn);
  // max abs diff and MSE are "good"; cosine is excellent and so is not a reason.
  EXPECT_TRUE(mentions(v.reasons, "max_abs_diff"));
  EXPECT_TRUE(mentions(v.reasons, "mse"));
  EXPECT_FALSE(mentions(v.reasons, "cosine_similarity"));
}

TEST(ValidateVerdict, DocumentedFailExample) {
  const Verdict v = judge(2.15e-02, 3.45e-04, 0.987234);
  EXPECT_EQ(v.status, Status::Fail);
  EXPECT_EQ(v.reasons.size(), 3u);
  EXPECT_TRUE(mentions(v.reasons, "cosine_similarity 0.987 is poor"));
}

TEST(ValidateVerdict, MaxAbsDiffBandEdges) {
  EXPECT_EQ(grade_max_abs_diff(0.0), Band::Excellent);
  EXPECT_EQ(grade_max_abs_diff(below(1e-5)), Band::Excellent);
  EXPECT_EQ(grade_max_abs_diff(1e-5), Band::Good);
  EXPECT_EQ(grade_max_abs_diff(1e-4), Band::Good);
  EXPECT_EQ(grade_max_abs_diff(above(1e-4)), Band::Poor);
}

TEST(ValidateVerdict, MseBandEdges) {
  EXPECT_EQ(grade_mse(below(1e-10)), Band::Excellent);
  EXPECT_EQ(grade_mse(1e-10), Band::Good);
  EXPECT_EQ(grade_mse(1e-8), Band::Good);
  EXPECT_EQ(grade_mse(above(1e-8)), Band::Poor);
}

TEST(ValidateVerdict, CosineBandEdges) {
  EXPECT_EQ(grade_cosine(1.0), Band::Excellent);
  EXPECT_EQ(grade_cosine(above(0.9999)), Band::Excellent);
  EXPECT_EQ(grade_cosine(0.9999), Band::Good);
  EXPECT_EQ(grade_cosine(0.999), Band::Good);
  EXPECT_EQ(grade_cosine(below(0.999)), Band::Poor);
  EXPECT_EQ(grade_cosine(0.0), Band::Poor);
}

TEST(ValidateVerdict, OnePoorMetricFailsAndIsTheOnlyReason) {
  const Verdict v = judge(1e-7, 1e-15, 0.99);
  EXPECT_EQ(v.status, Status::Fail);
  ASSERT_EQ(v.reasons.size(), 1u);
  EXPECT_NE(v.reasons[0].find("cosine_similarity"), std::string::npos);
}

TEST(ValidateVerdict, DegenerateComparisonsGetVerdicts) {
  EXPECT_EQ(evaluate(torch::zeros({2, 3}), torch::zeros({2, 3})).verdict.status, Status::Pass);
  EXPECT_EQ(evaluate(torch::zeros({2, 3}), torch::ones({2, 3})).verdict.status, Status::Fail);

  const Report nan_report =
      evaluate(torch::ones({2}), torch::tensor({1.0, std::numeric_limits<double>::quiet_NaN()}));
  EXPECT_EQ(nan_report.verdict.status, Status::Fail);
  EXPECT_TRUE(mentions(nan_report.verdict.reasons, "NaN"));

  const Report shape_report = evaluate(torch::zeros({1, 10}), torch::zeros({1, 1000}));
  EXPECT_EQ(shape_report.verdict.status, Status::Fail);
  EXPECT_TRUE(mentions(shape_report.verdict.reasons, "[1, 1000]"));
}

TEST(ValidateVerdict, JsonReportCarriesMetricsGradesAndReasons) {
  const torch::Tensor reference = torch::tensor({1.0, 2.0, 3.0, 3.0, 2.0, 1.0}, torch::kDouble).reshape({2, 3});
  const nlohmann::json json = to_json(evaluate(reference, reference + 5e-5));
  EXPECT_EQ(json.at("status"), "WARN");
  EXPECT_EQ(json.at("reference_shape"), nlohmann::json({2, 3}));
  EXPECT_EQ(json.at("num_elements"), 6);
  EXPECT_NEAR(json.at("metrics").at("max_abs_diff").get<double>(), 5e-5, 1e-9);
  EXPECT_EQ(json.at("metrics").at("top1_agreement"), 1.0);
  EXPECT_EQ(json.at("grades").at("max_abs_diff"), "good");
  EXPECT_EQ(json.at("grades").at("cosine_similarity"), "excellent");
  EXPECT_FALSE(json.at("reasons").empty());
  EXPECT_EQ(json.at("relative_diff_epsilon"), kRelativeDiffEpsilon);
}

TEST(ValidateVerdict, JsonReportOfFailedComparisonHasNullMetrics) {
  const nlohmann::json json = to_json(evaluate(torch::zeros({2, 5}), torch::zeros({2, 4})));
  EXPECT_EQ(json.at("status"), "FAIL");
  EXPECT_TRUE(json.at("metrics").is_null());
  EXPECT_TRUE(json.at("grades").empty());
  EXPECT_EQ(json.at("candidate_shape"), nlohmann::json({2, 4}));
}
