#pragma once
// ml-inference's page: the evaluation of a checkpoint (or its ONNX export) on a split, written as
// <report>.html beside the JSON report.
#include "mltk/inference/evaluate_split.h"
#include "mltk/report/page.h"

#include <string>

namespace mltk::report {

// best.test_report.json -> best.test_report.html.
std::string evaluation_page_path(const std::string& json_report_path);

// The evaluation section of `evaluation`, titled with the model that was evaluated.
Page evaluation_page(const inference::SplitEvaluation& evaluation, const std::string& model_description);

}  // namespace mltk::report
