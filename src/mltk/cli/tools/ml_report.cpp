// ml-report: compares the runs of a cross-validation and names the fold to deploy.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/common/logging.h"
#include "mltk/report/run_comparison.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

namespace mltk::cli {

int ml_report_main(int argc, char** argv) {
  CLI::App app{
      "ml-report: compare the runs of a cross-validation.\n\n"
      "Reads each run folder's metrics.json and run_state.json (and weights/best.test_report.json when\n"
      "ml-inference wrote one), prints a table of the best validation accuracy per run with its mean and\n"
      "standard deviation and the test accuracies, names the fold to deploy (the highest best validation\n"
      "accuracy), and writes one HTML page with the curves of every run overlaid.\n"
      "Unreadable and unfinished runs are listed with the reason and left out of the summary; with a\n"
      "pattern, so are the folds of the split (data.num_folds in the runs' config.yaml) that no folder\n"
      "matches.\n\n"
      "Example: ml-report --runs \"runs/hymenoptera_base_fold_*\""};
  std::vector<std::string> patterns;
  std::string output_path;
  cli::CommonOptions common;
  app.add_option("--runs", patterns, "Run folders, or glob patterns matching them (quote the pattern)")->required();
  app.add_option("--output_path", output_path,
                 "The HTML page (default: beside the runs, <common name prefix>report.html, e.g. "
                 "runs/hymenoptera_base_fold_report.html)");
  cli::add_common_options(app, common);

  return cli::run(app, common, argc, argv, [&]() -> int {
    const auto folders = report::match_run_folders(patterns);
    log::info("Comparing {} run folder{}", folders.size(), folders.size() == 1 ? "" : "s");
    const auto comparison = report::compare_runs(folders, report::has_wildcard(patterns));
    std::cout << report::comparison_table(comparison) << std::flush;
    const std::string page_path = output_path.empty() ? report::default_comparison_page_path(folders) : output_path;
    const size_t bytes =
        report::write_page(page_path, report::comparison_page(comparison, fmt::format("{}", fmt::join(patterns, " "))));
    log::info("Page written to {} ({} KiB)", page_path, (bytes + 1023) / 1024);
    if (!comparison.deploy) {
      log::error("✗ No run could be summarised; see the notes above");
      return 1;
    }
    return 0;
  });
}

}  // namespace mltk::cli
