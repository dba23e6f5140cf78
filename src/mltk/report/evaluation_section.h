#pragma once
// The evaluation part of a page: the accuracy, per-class precision/recall/F1 and the confusion
// matrix of ml-inference's classification report (shown as it is, nothing recomputed), and the
// worst mistakes with their thumbnails.
#include "mltk/inference/report.h"
#include "mltk/report/mistake.h"

#include <string>
#include <vector>

namespace mltk::report {

std::string evaluation_section(const std::string& heading, const inference::ClassificationReport& report,
                               const std::vector<Mistake>& mistakes);

}  // namespace mltk::report
