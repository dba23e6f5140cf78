#pragma once
// The skeleton every report page shares: one self-contained HTML document with its style, the
// chart library and the data inlined, opening from the file system with no network.
#include <nlohmann/json.hpp>

#include <string>

namespace mltk::report {

struct Page {
  std::string title;
  std::string subtitle;  // a line of text under the title
  std::string body;      // the sections, as HTML
  // Embedded as JSON (#mltk-data) for the page script: "epochs" (columns by name), "charts" and
  // "markers" draw the curves; everything else is there for readers and tests.
  nlohmann::json data = nlohmann::json::object();
};

// The whole document. Charts are drawn only when chart_library() found uPlot.
std::string render_page(const Page& page);

// Replaces `path` atomically with the rendered page and returns its size in bytes.
size_t write_page(const std::string& path, const Page& page);

}  // namespace mltk::report
