#include "mltk/report/evaluation_page.h"

#include "mltk/report/evaluation_section.h"
#include "mltk/report/thumbnails.h"

#include <filesystem>

namespace mltk::report {

std::string evaluation_page_path(const std::string& json_report_path) {
  return std::filesystem::path(json_report_path).replace_extension(".html").string();
}

Page evaluation_page(const inference::SplitEvaluation& evaluation, const std::string& model_description) {
  Page page;
  page.title = "Evaluation of " + model_description;
  page.subtitle = "Images listed in " + evaluation.split_file;
  page.body = evaluation_section("Results", evaluation.report,
                                 worst_mistakes(evaluation.predictions, evaluation.samples));
  page.data["evaluation"] = inference::to_json(evaluation.report);
  return page;
}

}  // namespace mltk::report
