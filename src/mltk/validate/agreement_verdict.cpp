#include "mltk/validate/agreement_verdict.h"

#include <fmt/format.h>

namespace mltk::validate {

Verdict judge_agreement(double agreement, std::optional<double> accuracy_drop_points) {
  const double drop = accuracy_drop_points.value_or(0.0);
  Verdict verdict;
  if (agreement >= kPassAgreement && drop <= kPassAccuracyDropPoints) {
    verdict.status = Status::Pass;
  } else if (agreement >= kWarnAgreement && drop <= kWarnAccuracyDropPoints) {
    verdict.status = Status::Warn;
  } else {
    verdict.status = Status::Fail;
  }
  const char* agreement_need = verdict.status == Status::Pass ? ">= 99%" : ">= 99% for PASS, >= 97% for WARN";
  verdict.reasons.push_back(fmt::format("top-1 agreement {:.2f}% (needs {})", 100.0 * agreement, agreement_need));
  if (accuracy_drop_points) {
    verdict.reasons.push_back(fmt::format("accuracy drop {:.2f} points (at most 1 for PASS, 2 for WARN)", drop));
  } else {
    verdict.reasons.push_back("no labelled images: the accuracy drop is unknown and not judged");
  }
  return verdict;
}

}  // namespace mltk::validate
