#pragma once
// uPlot, the chart library inlined into every page (tools/browser/node_modules/uplot, installed by
// scripts/setup.sh).
#include <optional>
#include <string>

namespace mltk::report {

struct ChartLibrary {
  std::string script;  // uPlot.iife.min.js
  std::string style;   // uPlot.min.css
};

// Looked up in $MLTK_BROWSER_DIR when set, else in the source tree's tools/browser baked in at
// build time, else in tools/browser beside or two levels above the running executable (build/bin).
// Read once per process. When it is missing, logs one warning naming scripts/setup.sh and returns
// nullopt: pages are then written with tables only.
const std::optional<ChartLibrary>& chart_library();

}  // namespace mltk::report
