#include "mltk/report/evaluation_section.h"

#include "mltk/report/html.h"

#include <fmt/format.h>

#include <filesystem>

namespace mltk::report {

namespace {

std::string scores_table(const inference::ClassificationReport& report) {
  std::string html = "<table id=\"class-scores\">\n<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
                     "<th>images</th></tr>\n";
  const auto row = [](const std::string& name, double precision, double recall, double f1, int64_t support) {
    return fmt::format("<tr><td class=\"name\">{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{}</td></tr>\n",
                       escape_html(name), precision, recall, f1, support);
  };
  for (size_t c = 0; c < report.class_names.size(); ++c) {
    const auto& s = report.per_class[c];
    html += row(report.class_names[c], s.precision, s.recall, s.f1, s.support);
  }
  html += row("macro average", report.macro_precision, report.macro_recall, report.macro_f1, report.num_samples);
  return html + "</table>\n";
}

// Cells are shaded by their share of the true class's images: blue on the diagonal (right), red
// elsewhere (wrong), so the eye finds both the recall and where the errors go.
std::string confusion_heatmap(const inference::ClassificationReport& report) {
  const size_t n = report.class_names.size();
  std::string html = "<table class=\"confusion\" id=\"confusion\">\n<tr><th class=\"corner\">true ↓ · predicted →</th>";
  for (const auto& name : report.class_names) html += "<th>" + escape_html(name) + "</th>";
  html += "</tr>\n";
  for (size_t t = 0; t < n; ++t) {
    int64_t row_total = 0;
    for (const auto count : report.confusion[t]) row_total += count;
    html += "<tr><th>" + escape_html(report.class_names[t]) + "</th>";
    for (size_t p = 0; p < n; ++p) {
      const int64_t count = report.confusion[t][p];
      const double share = row_total > 0 ? static_cast<double>(count) / row_total : 0.0;
      const double alpha = count > 0 ? 0.12 + 0.78 * share : 0.0;
      const char* rgb = t == p ? "37, 99, 235" : "220, 38, 38";
      html += fmt::format("<td class=\"count\" style=\"background: rgba({}, {:.3f}); color: {}\" title=\"{:.1f}% of {}\">{}</td>",
                          rgb, alpha, alpha > 0.5 ? "#fff" : "inherit", 100 * share,
                          escape_html(report.class_names[t]), count);
    }
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

std::string mistakes_grid(const inference::ClassificationReport& report, const std::vector<Mistake>& mistakes) {
  if (mistakes.empty()) return "<p>No wrong predictions.</p>\n";
  std::string html = "<div class=\"mistakes\" id=\"mistakes\">\n";
  for (const auto& mistake : mistakes) {
    html += "<figure>";
    if (!mistake.jpeg.empty())
      html += "<img alt=\"" + escape_html(mistake.path) + "\" src=\"data:image/jpeg;base64," + base64(mistake.jpeg) + "\">";
    html += fmt::format(
        "<figcaption><span class=\"wrong\">predicted {} ({:.1f}%)</span><br>true {}<br><span class=\"file\">{}</span>"
        "</figcaption></figure>\n",
        escape_html(report.class_names.at(mistake.predicted_class)), 100.0 * mistake.confidence,
        escape_html(report.class_names.at(mistake.true_class)),
        escape_html(std::filesystem::path(mistake.path).filename().string()));
  }
  return html + "</div>\n";
}

}  // namespace

std::string evaluation_section(const std::string& heading, const inference::ClassificationReport& report,
                               const std::vector<Mistake>& mistakes) {
  std::string html = "<h2 id=\"evaluation\">" + escape_html(heading) + "</h2>\n";
  html += "<div class=\"facts\">" + fact_box("accuracy", fmt::format("{:.4f}", report.accuracy), "test-accuracy") +
          fact_box("images", std::to_string(report.num_samples)) + "</div>\n";
  html += "<div class=\"evaluation\">\n<div><h3>Per class</h3>\n" + scores_table(report) + "</div>\n";
  html += "<div><h3>Confusion matrix</h3>\n" + confusion_heatmap(report) +
          "<p class=\"legend-note\">Rows: true class; columns: predicted. Shade: share of the row's images.</p></div>\n</div>\n";
  html += fmt::format("<h3>Most confident mistakes ({} shown)</h3>\n", mistakes.size()) + mistakes_grid(report, mistakes);
  return html;
}

}  // namespace mltk::report
