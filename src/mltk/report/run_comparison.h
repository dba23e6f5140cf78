#pragma once
// ml-report: the runs of a cross-validation side by side (best validation accuracy per fold, mean and
// standard deviation, test accuracy where evaluated) and the fold to deploy, as a terminal table and
// as one page with the curves overlaid.
#include "mltk/report/page.h"
#include "mltk/train/epoch_metrics.h"

#include <optional>
#include <string>
#include <vector>

namespace mltk::report {

struct RunSummary {
  std::string name;    // the run folder's name
  std::string folder;  // as matched; empty for a fold missing from the numbering
  std::vector<train::EpochMetrics> history;
  std::string state;  // run_state.json's state; "unknown" for runs written before it existed
  int planned_epochs = 0;
  std::optional<int> best_epoch;
  double best_val_accuracy = 0;
  std::optional<double> test_accuracy;  // best.pt on the test split
  // Why the run is left out of the summary (missing, unreadable, unfinished); empty when it counts.
  std::string problem;
  bool counted() const { return problem.empty(); }
};

struct MeanAndDeviation {
  double mean = 0;
  double deviation = 0;  // population standard deviation (over the n counted runs)
  int count = 0;
};

struct RunComparison {
  std::vector<RunSummary> runs;  // in name order; missing folds where the numbering has gaps
  std::optional<MeanAndDeviation> best_val_accuracy;
  std::optional<MeanAndDeviation> test_accuracy;
  std::optional<size_t> deploy;  // the counted run with the highest best validation accuracy (first of equals)
};

// The run folders the patterns (glob(3) patterns or plain folder names) match, sorted, each once;
// files are ignored. Throws naming the patterns when no folder matches.
std::vector<std::string> match_run_folders(const std::vector<std::string>& patterns);

// Reads one run folder: metrics.json, run_state.json and, without a test accuracy there, the
// weights/best.test_report.json of ml-inference. Problems become RunSummary::problem, never throws.
RunSummary summarise_run(const std::string& folder);

// Whether any pattern is a glob (and not a list of folders): only then are absent folds reported.
bool has_wildcard(const std::vector<std::string>& patterns);

// Summarises the folders. With `report_missing_folds`, runs named <prefix>_fold_<k> gain a missing
// entry for each fold of their split (data.num_folds of their config.yaml, else up to the highest k)
// that no folder holds.
RunComparison compare_runs(const std::vector<std::string>& folders, bool report_missing_folds);

// The table printed on the terminal.
std::string comparison_table(const RunComparison& comparison);

// `<folder of the runs>/<their common name prefix>report.html`, e.g. runs/hymenoptera_base_fold_report.html.
std::string default_comparison_page_path(const std::vector<std::string>& folders);

// The page: key figures, the fold to deploy, overlaid validation accuracy and loss curves and
// training loss, and the table.
Page comparison_page(const RunComparison& comparison, const std::string& what);

}  // namespace mltk::report
