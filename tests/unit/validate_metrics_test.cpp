#include "mltk/validate/metrics.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

using namespace mltk::validate;

namespace {

torch::Tensor tensor(std::vector<double> values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kDouble).reshape(shape);
}

}  // namespace

TEST(ValidateMetrics, HandComputedSmallTensors) {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};
  const std::vector<double> b = {1, 2.5, 3, 4, 5, 5};
  // Expectations by a plain loop, independent of the code under test.
  double max_abs = 0, sum_sq = 0, sum_abs = 0, dot = 0, na = 0, nb = 0, max_rel = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    max_abs = std::max(max_abs, d);
    max_rel = std::max(max_rel, d / std::abs(a[i]));
    sum_sq += d * d;
    sum_abs += d;
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const Comparison c = compare(tensor(a, {2, 3}), tensor(b, {2, 3}));
  ASSERT_TRUE(c.metrics) << c.failure;
  EXPECT_EQ(c.num_elements, 6);
  EXPECT_DOUBLE_EQ(c.metrics->max_abs_diff, 1.0);
  EXPECT_DOUBLE_EQ(c.metrics->max_abs_diff, max_abs);
  EXPECT_DOUBLE_EQ(c.metrics->mse, 1.25 / 6);
  EXPECT_DOUBLE_EQ(c.metrics->mse, sum_sq / 6);
  EXPECT_DOUBLE_EQ(c.metrics->mae, sum_abs / 6);
  EXPECT_DOUBLE_EQ(c.metrics->max_rel_diff, max_rel);  // 1/6 from the last element
  EXPECT_NEAR(c.metrics->cosine_similarity, dot / std::sqrt(na * nb), 1e-15);
  // Row 0: argmax 2 in both; row 1: 2 (6) vs 1 (first of the tied 5s).
  ASSERT_TRUE(c.metrics->top1_agreement);
  EXPECT_DOUBLE_EQ(*c.metrics->top1_agreement, 0.5);
}

TEST(ValidateMetrics, IdenticalTensorsAreExact) {
  const torch::Tensor x = torch::randn({4, 10});
  const Comparison c = compare(x, x.clone());
  ASSERT_TRUE(c.metrics);
  EXPECT_EQ(c.metrics->max_abs_diff, 0.0);
  EXPECT_EQ(c.metrics->mse, 0.0);
  EXPECT_EQ(c.metrics->max_rel_diff, 0.0);
  EXPECT_DOUBLE_EQ(c.metrics->cosine_similarity, 1.0);
  EXPECT_EQ(*c.metrics->top1_agreement, 1.0);
}

TEST(ValidateMetrics, ComputesInDoubleAcrossDtypes) {
  // A float32 reference against a float64 candidate: the 1e-12 difference must survive.
  const torch::Tensor reference = torch::ones({3}, torch::kFloat32);
  const torch::Tensor candidate = torch::full({3}, 1.0 + 1e-12, torch::kFloat64);
  const Comparison c = compare(reference, candidate);
  ASSERT_TRUE(c.metrics);
  EXPECT_NEAR(c.metrics->max_abs_diff, 1e-12, 1e-16);
}

TEST(ValidateMetrics, RelativeDiffFloorsTheDenominatorAtEpsilon) {
  // |0 - 5e-7| / max(0, eps) = 0.5 dominates |2 - 2.2| / 2 = 0.1.
  const Comparison c = compare(tensor({0, 2}, {2}), tensor({5e-7, 2.2}, {2}));
  ASSERT_TRUE(c.metrics);
  EXPECT_NEAR(c.metrics->max_rel_diff, 5e-7 / kRelativeDiffEpsilon, 1e-12);
}

TEST(ValidateMetrics, BothAllZeroIsIdentical) {
  const Comparison c = compare(torch::zeros({2, 3}), torch::zeros({2, 3}));
  ASSERT_TRUE(c.metrics);
  EXPECT_EQ(c.metrics->cosine_similarity, 1.0);
  EXPECT_EQ(c.metrics->max_abs_diff, 0.0);
}

TEST(ValidateMetrics, OneAllZeroHasCosineZero) {
  for (const auto& [reference, candidate] :
       {std::pair{torch::zeros({2, 3}), torch::ones({2, 3})}, std::pair{torch::ones({2, 3}), torch::zeros({2, 3})}}) {
    const Comparison c = compare(reference, candidate);
    ASSERT_TRUE(c.metrics);
    EXPECT_EQ(c.metrics->cosine_similarity, 0.0);
    EXPECT_FALSE(std::isnan(c.metrics->max_rel_diff));
  }
}

TEST(ValidateMetrics, NonFiniteValuesFailWithReason) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Comparison c = compare(tensor({1, 2, 3}, {3}), tensor({1, nan, nan}, {3}));
  EXPECT_FALSE(c.metrics);
  EXPECT_NE(c.failure.find("candidate contains 2 NaN"), std::string::npos) << c.failure;

  c = compare(tensor({1, -inf, 3}, {3}), tensor({1, 2, 3}, {3}));
  EXPECT_FALSE(c.metrics);
  EXPECT_NE(c.failure.find("reference contains 0 NaN and 1 Inf"), std::string::npos) << c.failure;
  EXPECT_EQ(c.failure.find("candidate"), std::string::npos) << c.failure;
}

TEST(ValidateMetrics, ShapeMismatchNamesBothShapes) {
  const Comparison c = compare(torch::zeros({2, 5}), torch::zeros({2, 4}));
  EXPECT_FALSE(c.metrics);
  EXPECT_NE(c.failure.find("[2, 5]"), std::string::npos) << c.failure;
  EXPECT_NE(c.failure.find("[2, 4]"), std::string::npos) << c.failure;
}

TEST(ValidateMetrics, TopOneAgreementByRowsAlongDimZero) {
  // Rows are the dim-0 slices, flattened: [2, 2, 2] has two rows of four.
  const torch::Tensor a = tensor({0, 0, 0, 9, 9, 0, 0, 0}, {2, 2, 2});
  const torch::Tensor b = tensor({0, 0, 0, 8, 0, 9, 0, 0}, {2, 2, 2});
  EXPECT_DOUBLE_EQ(*compare(a, b).metrics->top1_agreement, 0.5);

  // A rank-1 tensor is a single row; ties resolve to the first maximum.
  EXPECT_DOUBLE_EQ(*compare(tensor({1, 3, 3}, {3}), tensor({1, 3, 2}, {3})).metrics->top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(*compare(tensor({1, 3, 3}, {3}), tensor({1, 2, 3}, {3})).metrics->top1_agreement, 0.0);

  EXPECT_FALSE(compare(torch::tensor(1.0), torch::tensor(1.0)).metrics->top1_agreement);
  EXPECT_FALSE(compare(torch::zeros({0, 5}), torch::zeros({0, 5})).metrics->top1_agreement);
}
