#include "mltk/report/page.h"

#include "mltk/common/atomic_file.h"
#include "mltk/report/chart_library.h"
#include "mltk/report/html.h"
#include "mltk/report/page_assets.h"

namespace mltk::report {

std::string render_page(const Page& page) {
  const bool has_charts = page.data.contains("charts");
  // Pages without charts (an evaluation) neither need uPlot nor warn about it.
  static const std::optional<ChartLibrary> no_library;
  const auto& library = has_charts ? chart_library() : no_library;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + escape_html(page.title) + "</title>\n<style>\n" + page_style() + "</style>\n";
  if (library) html += "<style>\n" + library->style + "\n</style>\n";
  html += "</head>\n<body>\n<header>\n<h1>" + escape_html(page.title) + "</h1>\n";
  if (!page.subtitle.empty()) html += "<p class=\"subtitle\">" + escape_html(page.subtitle) + "</p>\n";
  html += "</header>\n<main>\n";
  if (has_charts && !library)
    html += "<p class=\"notice\">Charts are missing: the chart library (uPlot) was not found when this page was "
            "written. Run <code>scripts/setup.sh</code> to install it; the tables below hold every value.</p>\n";
  html += page.body;
  html += "</main>\n<script type=\"application/json\" id=\"mltk-data\">" + json_for_script(page.data) + "</script>\n";
  if (library) html += "<script>\n" + library->script + "\n</script>\n";
  html += "<script>\n" + page_script() + "</script>\n</body>\n</html>\n";
  return html;
}

size_t write_page(const std::string& path, const Page& page) {
  const std::string html = render_page(page);
  write_file_atomically(path, html);
  return html.size();
}

}  // namespace mltk::report
