#pragma once
// The verdict on a quantized export. An int8 file cannot meet the float bands of verdict.h, so it
// is judged by what a deployment sees: its answers on real images against the float model's.
//   PASS: top-1 agreement >= 99% and accuracy drop <= 1 point
//   WARN: top-1 agreement >= 97% and accuracy drop <= 2 points
//   FAIL: otherwise
// Without labelled images the accuracy drop is unknown and only the agreement decides.
#include "mltk/validate/verdict.h"

#include <optional>

namespace mltk::validate {

inline constexpr double kPassAgreement = 0.99;
inline constexpr double kWarnAgreement = 0.97;
inline constexpr double kPassAccuracyDropPoints = 1.0;
inline constexpr double kWarnAccuracyDropPoints = 2.0;

// `agreement` in [0, 1]; `accuracy_drop_points` = 100 * (float accuracy - quantized accuracy).
Verdict judge_agreement(double agreement, std::optional<double> accuracy_drop_points);

}  // namespace mltk::validate
