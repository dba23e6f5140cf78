#include "mltk/validate/verdict.h"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

namespace mltk::validate {

namespace {

// Lower and upper edge of the "good" band of each graded metric.
struct Bands {
  const char* metric;
  double good_low;
  double good_high;
  bool higher_is_better;
};

constexpr Bands kMaxAbsDiff{"max_abs_diff", 1e-5, 1e-4, false};
constexpr Bands kMse{"mse", 1e-10, 1e-8, false};
constexpr Bands kCosine{"cosine_similarity", 0.999, 0.9999, true};

Band grade(const Bands& bands, double value) {
  if (bands.higher_is_better) {
    if (value > bands.good_high) return Band::Excellent;
    return value >= bands.good_low ? Band::Good : Band::Poor;
  }
  if (value < bands.good_low) return Band::Excellent;
  return value <= bands.good_high ? Band::Good : Band::Poor;
}

std::string explain(const Bands& bands, const Grade& g) {
  if (g.band == Band::Poor) {
    return fmt::format("{} {:.3g} is poor ({} {:g})", g.metric, g.value, bands.higher_is_better ? "<" : ">",
                       bands.higher_is_better ? bands.good_low : bands.good_high);
  }
  if (g.band == Band::Good) {
    return fmt::format("{} {:.3g} is good, not excellent (within [{:g}, {:g}])", g.metric, g.value,
                       bands.good_low, bands.good_high);
  }
  return fmt::format("{} {:.3g} is excellent", g.metric, g.value);
}

}  // namespace

std::string to_string(Status status) {
  switch (status) {
    case Status::Pass:
      return "PASS";
    case Status::Warn:
      return "WARN";
    case Status::Fail:
      return "FAIL";
  }
  throw std::invalid_argument("invalid Status");
}

std::string to_string(Band band) {
  switch (band) {
    case Band::Excellent:
      return "excellent";
    case Band::Good:
      return "good";
    case Band::Poor:
      return "poor";
  }
  throw std::invalid_argument("invalid Band");
}

Band grade_max_abs_diff(double value) { return grade(kMaxAbsDiff, value); }
Band grade_mse(double value) { return grade(kMse, value); }
Band grade_cosine(double value) { return grade(kCosine, value); }

Verdict judge(double max_abs_diff, double mse, double cosine_similarity) {
  Verdict verdict;
  const std::pair<const Bands&, double> graded[] = {
      {kMaxAbsDiff, max_abs_diff}, {kMse, mse}, {kCosine, cosine_similarity}};
  for (const auto& [bands, value] : graded) verdict.grades.push_back({bands.metric, value, grade(bands, value)});

  const auto any = [&](Band band) {
    for (const Grade& g : verdict.grades) {
      if (g.band == band) return true;
    }
    return false;
  };
  const Band deciding = any(Band::Poor) ? Band::Poor : any(Band::Good) ? Band::Good : Band::Excellent;
  verdict.status = deciding == Band::Poor ? Status::Fail : deciding == Band::Good ? Status::Warn : Status::Pass;
  for (size_t i = 0; i < verdict.grades.size(); ++i) {
    if (verdict.grades[i].band == deciding) verdict.reasons.push_back(explain(graded[i].first, verdict.grades[i]));
  }
  return verdict;
}

Verdict judge(const Comparison& comparison) {
  if (!comparison.metrics) return Verdict{Status::Fail, {}, {comparison.failure}};
  const Metrics& m = *comparison.metrics;
  return judge(m.max_abs_diff, m.mse, m.cosine_similarity);
}

Report evaluate(const torch::Tensor& reference, const torch::Tensor& candidate) {
  Report report{compare(reference, candidate), {}};
  report.verdict = judge(report.comparison);
  return report;
}

nlohmann::json to_json(const Report& report) {
  const Comparison& c = report.comparison;
  nlohmann::json json = {{"status", to_string(report.verdict.status)},
                         {"reasons", report.verdict.reasons},
                         {"reference_shape", c.reference_shape},
                         {"candidate_shape", c.candidate_shape},
                         {"num_elements", c.num_elements},
                         {"metrics", nullptr},
                         {"grades", nlohmann::json::object()},
                         {"relative_diff_epsilon", kRelativeDiffEpsilon}};
  if (c.metrics) {
    const Metrics& m = *c.metrics;
    json["metrics"] = {{"max_abs_diff", m.max_abs_diff},
                       {"mse", m.mse},
                       {"mae", m.mae},
                       {"cosine_similarity", m.cosine_similarity},
                       {"max_rel_diff", m.max_rel_diff},
                       {"top1_agreement", m.top1_agreement ? nlohmann::json(*m.top1_agreement) : nlohmann::json()}};
  }
  for (const Grade& g : report.verdict.grades) json["grades"][g.metric] = to_string(g.band);
  return json;
}

}  // namespace mltk::validate
