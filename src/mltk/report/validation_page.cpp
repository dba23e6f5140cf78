#include "mltk/report/validation_page.h"

#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"
#include "mltk/report/html.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <stdexcept>

namespace mltk::report {

namespace {

// The section sits between these comments in a run page, so a later export replaces it.
constexpr const char* kSectionBegin = "<!-- mltk:validation -->\n";
constexpr const char* kSectionEnd = "<!-- /mltk:validation -->\n";
constexpr const char* kDataOpen = "<script type=\"application/json\" id=\"mltk-data\">";

std::string status_badge(validate::Status status) {
  const char* colour = status == validate::Status::Pass   ? "#16a34a"
                       : status == validate::Status::Warn ? "#ca8a04"
                                                          : "#dc2626";
  return fmt::format("<span class=\"verdict\" style=\"background: {}\">{}</span>", colour, validate::to_string(status));
}

std::string metric_cells(const validate::Report& report) {
  if (!report.comparison.metrics) return "<td>-</td><td>-</td><td>-</td><td>-</td>";
  const auto& metrics = *report.comparison.metrics;
  std::string bands;
  for (const auto& grade : report.verdict.grades)
    if (grade.band != validate::Band::Excellent) bands += (bands.empty() ? "" : ", ") + grade.metric + " " + validate::to_string(grade.band);
  return fmt::format("<td>{:.2e}</td><td>{:.2e}</td><td>{:.6f}</td><td>{}</td>", metrics.max_abs_diff, metrics.mse,
                     metrics.cosine_similarity,
                     metrics.top1_agreement ? fmt::format("{:.2f}%", 100 * *metrics.top1_agreement) : "-");
}

// A PASS needs no explanation; a WARN or FAIL names the metrics (or the failure) behind it.
std::string reasons_text(const validate::Report& report) {
  if (report.verdict.status == validate::Status::Pass) return "";
  return escape_html(fmt::format("{}", fmt::join(report.verdict.reasons, "; ")));
}

std::string images_part(const validate::ImageValidation& images) {
  std::string html = fmt::format(
      "<h3>Real images</h3>\n<table id=\"validation-images\">\n"
      "<tr><td class=\"name\">images</td><td class=\"name\">{} from {}{}</td></tr>\n"
      "<tr><td class=\"name\">top-1 agreement</td><td class=\"name\" id=\"validation-agreement\">{:.2f}% ({} of {})</td></tr>\n",
      images.images, escape_html(images.source),
      images.skipped.empty() ? "" : fmt::format(" ({} could not be decoded and were skipped)", images.skipped.size()),
      100.0 * images.agreement(), images.agreeing, images.images);
  if (images.labelled > 0)
    html += fmt::format(
        "<tr><td class=\"name\">accuracy on {} labelled images</td><td class=\"name\">LibTorch {:.2f}%, ONNX {:.2f}%</td></tr>\n",
        images.labelled, 100.0 * images.model_correct / images.labelled, 100.0 * images.onnx_correct / images.labelled);
  html += "<tr><td class=\"name\">logits</td><td class=\"name\">" + status_badge(images.report.verdict.status);
  if (const auto& metrics = images.report.comparison.metrics)
    html += fmt::format(" max abs diff {:.2e}, MSE {:.2e}, cosine {:.6f}", metrics->max_abs_diff, metrics->mse,
                        metrics->cosine_similarity);
  if (const auto why = reasons_text(images.report); !why.empty()) html += " · " + why;
  return html + "</td></tr>\n</table>\n";
}

}  // namespace

std::string validation_page_path(const std::string& onnx_path) {
  return std::filesystem::path(onnx_path).replace_extension(".validation.html").string();
}

std::string validation_section(const validate::ExportValidation& validation) {
  std::string html = "<section id=\"validation\">\n<h2>ONNX validation</h2>\n";
  html += fmt::format("<p>{} <code>{}</code> against the LibTorch model; the ONNX side run by {}.</p>\n",
                      status_badge(validation.status), escape_html(validation.onnx_path), escape_html(validation.runtime));
  html += fmt::format(
      "<p class=\"legend-note\">Input {} {}; batch dimension {}{}. Bands: max abs diff below 1e-5 excellent, up to "
      "1e-4 good; cosine above 0.9999 excellent, from 0.999 good; anything beyond fails.</p>\n",
      validation.takes_pixels ? "uint8 pixels (preprocessing embedded in the graph)" : "float32 tensor",
      escape_html(fmt::format("[{}]", fmt::join(validation.input_shape, ", "))),
      validation.dynamic_batch ? "symbolic" : "fixed",
      validation.quantized ? "; an int8 file, judged by its agreement on real images" : "");
  html += "<table id=\"validation-batches\">\n<tr><th>batch</th><th>verdict</th><th>max abs diff</th><th>MSE</th>"
          "<th>cosine</th><th>top-1 agreement</th><th class=\"name\">why</th></tr>\n";
  for (const auto& batch : validation.batches)
    html += fmt::format("<tr><td class=\"name\">{}</td><td class=\"name status\">{}</td>{}<td class=\"name why\">{}</td></tr>\n",
                        batch.batch_size, validate::to_string(batch.report.verdict.status), metric_cells(batch.report),
                        reasons_text(batch.report));
  html += "</table>\n";
  if (validation.images) html += images_part(*validation.images);
  return html + "</section>\n";
}

Page validation_page(const validate::ExportValidation& validation) {
  Page page;
  page.title = "Validation of " + std::filesystem::path(validation.onnx_path).filename().string();
  page.subtitle = "ml-export compared " + validation.onnx_path + " with the checkpoint it was exported from.";
  page.body = validation_section(validation);
  page.data["validation"] = validate::to_json(validation);
  return page;
}

void add_validation_to_run_page(const std::string& run_page_path, const validate::ExportValidation& validation) {
  std::string html = read_file(run_page_path);
  const auto not_ours = [&](const char* what) {
    return std::runtime_error(run_page_path + " is not a run page written by ml-train (" + what +
                              "); the validation was not added to it");
  };
  const size_t begin = html.find(kSectionBegin);
  if (begin != std::string::npos) {
    const size_t end = html.find(kSectionEnd, begin);
    if (end == std::string::npos) throw not_ours("its validation section has no end");
    html.erase(begin, end + std::string(kSectionEnd).size() - begin);
  }
  const size_t main_end = html.find("</main>");
  if (main_end == std::string::npos) throw not_ours("no </main>");
  html.insert(main_end, kSectionBegin + validation_section(validation) + kSectionEnd);

  const size_t data_begin = html.find(kDataOpen);
  if (data_begin == std::string::npos) throw not_ours("no #mltk-data");
  const size_t json_begin = data_begin + std::string(kDataOpen).size();
  const size_t json_end = html.find("</script>", json_begin);
  if (json_end == std::string::npos) throw not_ours("#mltk-data is not closed");
  auto data = nlohmann::json::parse(html.substr(json_begin, json_end - json_begin), nullptr, false);
  if (data.is_discarded() || !data.is_object()) throw not_ours("#mltk-data is not a JSON object");
  data["validation"] = validate::to_json(validation);
  html.replace(json_begin, json_end - json_begin, json_for_script(data));
  write_file_atomically(run_page_path, html);
}

}  // namespace mltk::report
