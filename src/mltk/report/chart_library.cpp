#include "mltk/report/chart_library.h"

#include "mltk/common/logging.h"
#include "mltk/common/subprocess.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace mltk::report {

namespace {

namespace fs = std::filesystem;

constexpr const char* kScript = "node_modules/uplot/dist/uPlot.iife.min.js";
constexpr const char* kStyle = "node_modules/uplot/dist/uPlot.min.css";

std::vector<fs::path> candidate_dirs() {
  if (const char* dir = std::getenv("MLTK_BROWSER_DIR"); dir != nullptr && *dir != '\0') return {dir};
  std::vector<fs::path> out;
#ifdef MLTK_BROWSER_TOOLS_DIR
  out.emplace_back(MLTK_BROWSER_TOOLS_DIR);
#endif
  std::error_code error;
  const auto executable_dir = fs::read_symlink("/proc/self/exe", error).parent_path();
  if (!error) {
    out.push_back(executable_dir / "tools" / "browser");
    out.push_back(executable_dir / ".." / ".." / "tools" / "browser");
  }
  return out;
}

std::optional<ChartLibrary> load() {
  const auto dirs = candidate_dirs();
  for (const auto& dir : dirs) {
    if (!fs::exists(dir / kScript) || !fs::exists(dir / kStyle)) continue;
    try {
      return ChartLibrary{read_file(dir / kScript), read_file(dir / kStyle)};
    } catch (const std::exception& error) {
      log::warning("cannot read uPlot from {}: {}", dir.string(), error.what());
    }
  }
  std::string searched;
  for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir.string();
  log::warning("uPlot not found (looked in {}): HTML reports will have tables but no charts; run scripts/setup.sh "
               "to install it, or set MLTK_BROWSER_DIR to mltk's tools/browser",
               searched.empty() ? "nowhere" : searched);
  return std::nullopt;
}

}  // namespace

const std::optional<ChartLibrary>& chart_library() {
  static const std::optional<ChartLibrary> library = load();
  return library;
}

}  // namespace mltk::report
