#pragma once
// ml-export's validation result as a page: added to the run's report.html when the checkpoint lives
// in a run folder, written as <onnx stem>.validation.html beside the file otherwise.
#include "mltk/report/page.h"
#include "mltk/validate/export_validator.h"

#include <string>

namespace mltk::report {

// model.onnx -> model.validation.html.
std::string validation_page_path(const std::string& onnx_path);

// The section: the verdict and its reasons, what was compared (runtime, input, preprocessing), one
// row per batch size with the metrics and their bands, and the real-image agreement when images were
// given.
std::string validation_section(const validate::ExportValidation& validation);

// A page holding only that section; its data carries the JSON report as "validation".
Page validation_page(const validate::ExportValidation& validation);

// Puts the section into an existing run page, replacing the one an earlier export added, and the JSON
// report into its data as "validation". Throws naming the page when it is not one of ours.
void add_validation_to_run_page(const std::string& run_page_path, const validate::ExportValidation& validation);

}  // namespace mltk::report
