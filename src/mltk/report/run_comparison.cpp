#include "mltk/report/run_comparison.h"

#include "mltk/common/glob.h"
#include "mltk/config/config.h"
#include "mltk/inference/report.h"
#include "mltk/report/chart_library.h"
#include "mltk/report/html.h"
#include "mltk/report/run_history.h"
#include "mltk/train/run_folder.h"
#include "mltk/train/run_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

namespace mltk::report {

namespace {

namespace fs = std::filesystem;

// "fold_2" before "fold_10": digit runs compare by value.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t end_a = i, end_b = j;
      while (end_a < a.size() && std::isdigit(static_cast<unsigned char>(a[end_a]))) ++end_a;
      while (end_b < b.size() && std::isdigit(static_cast<unsigned char>(b[end_b]))) ++end_b;
      const std::string digits_a = a.substr(i, end_a - i), digits_b = b.substr(j, end_b - j);
      const auto value_a = digits_a.substr(std::min(digits_a.find_first_not_of('0'), digits_a.size()));
      const auto value_b = digits_b.substr(std::min(digits_b.find_first_not_of('0'), digits_b.size()));
      if (value_a.size() != value_b.size()) return value_a.size() < value_b.size();
      if (value_a != value_b) return value_a < value_b;
      i = end_a;
      j = end_b;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::string folder_name(const std::string& folder) {
  fs::path path = fs::path(folder).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path.filename().string();
}

std::optional<MeanAndDeviation> mean_and_deviation(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  MeanAndDeviation result;
  result.count = static_cast<int>(values.size());
  for (const double value : values) result.mean += value;
  result.mean /= result.count;
  double squares = 0;
  for (const double value : values) squares += (value - result.mean) * (value - result.mean);
  result.deviation = std::sqrt(squares / result.count);
  return result;
}

// The number of folds the runs' split was made with (data.num_folds of a config.yaml they hold), 0
// when no configuration reads.
int configured_folds(const std::vector<std::string>& folders) {
  for (const auto& folder : folders) {
    const std::string path = train::RunFolder{folder}.config_file();
    if (!fs::is_regular_file(path)) continue;
    try {
      return config::load_config(path).data.num_folds;
    } catch (const std::exception&) {
      continue;  // an old or edited configuration: another run's may read
    }
  }
  return 0;
}

// Folds absent from a numbered series (runs named <prefix>_fold_<k>, all with one prefix): below
// the split's number of folds, or below the highest fold present when no configuration reads.
std::vector<std::string> missing_folds(const std::vector<RunSummary>& runs, const std::vector<std::string>& folders) {
  static const std::regex numbered("^(.*_fold_)([0-9]+)$");
  std::string prefix;
  std::set<int> present;
  for (const auto& run : runs) {
    std::smatch match;
    if (!std::regex_match(run.name, match, numbered) || match[2].length() > 6) return {};
    if (!prefix.empty() && prefix != match[1].str()) return {};
    prefix = match[1].str();
    present.insert(std::stoi(match[2].str()));
  }
  std::vector<std::string> missing;
  if (present.empty()) return missing;
  const int folds = std::max(configured_folds(folders), *present.rbegin() + 1);
  for (int fold = 0; fold < folds; ++fold)
    if (!present.count(fold)) missing.push_back(prefix + std::to_string(fold));
  return missing;
}

std::string accuracy_text(const std::optional<double>& value) { return value ? fmt::format("{:.4f}", *value) : "-"; }

std::string summary_text(const std::optional<MeanAndDeviation>& value, size_t total) {
  if (!value) return "-";
  return fmt::format("{:.4f} ± {:.4f} (mean ± std over {} of {} runs)", value->mean, value->deviation, value->count,
                     total);
}

std::string epochs_text(const RunSummary& run) {
  const int done = train::last_epoch(run.history);
  return run.planned_epochs > 0 ? fmt::format("{}/{}", done, run.planned_epochs) : std::to_string(done);
}

std::string deploy_line(const RunComparison& comparison) {
  if (!comparison.deploy) return "No run can be deployed: none finished with a readable history.";
  const auto& run = comparison.runs[*comparison.deploy];
  return fmt::format("Deploy {}: best validation accuracy {:.4f} at epoch {}; its weights are {}", run.name,
                     run.best_val_accuracy, run.best_epoch.value_or(0), train::RunFolder{run.folder}.best_checkpoint());
}

// One value per epoch of the shared axis, null where the run has no such epoch.
nlohmann::json run_column(const RunSummary& run, const std::vector<int>& epochs, double train::EpochMetrics::*field) {
  std::map<int, double> by_epoch;
  for (const auto& row : run.history) by_epoch[row.epoch] = std::stod(train::format_metric(row.*field));
  auto column = nlohmann::json::array();
  for (const int epoch : epochs) {
    const auto found = by_epoch.find(epoch);
    column.push_back(found == by_epoch.end() ? nlohmann::json(nullptr) : nlohmann::json(found->second));
  }
  return column;
}

nlohmann::json run_json(const RunSummary& run) {
  nlohmann::json json = {{"name", run.name},
                         {"folder", run.folder},
                         {"state", run.state},
                         {"epochs_done", train::last_epoch(run.history)},
                         {"planned_epochs", run.planned_epochs},
                         {"best_epoch", nullptr},
                         {"best_val_accuracy", nullptr},
                         {"test_accuracy", nullptr},
                         {"counted", run.counted()},
                         {"problem", run.problem}};
  if (run.best_epoch) {
    json["best_epoch"] = *run.best_epoch;
    json["best_val_accuracy"] = run.best_val_accuracy;
  }
  if (run.test_accuracy) json["test_accuracy"] = *run.test_accuracy;
  return json;
}

nlohmann::json summary_json(const std::optional<MeanAndDeviation>& value) {
  if (!value) return nullptr;
  return {{"mean", value->mean}, {"std", value->deviation}, {"runs", value->count}};
}

std::string runs_table_html(const RunComparison& comparison) {
  std::string html = "<table id=\"runs\">\n<tr><th>run</th><th class=\"name\">state</th><th>epochs</th><th>best epoch</th>"
                     "<th>best val acc</th><th>test acc</th><th class=\"name\">note</th></tr>\n";
  for (size_t i = 0; i < comparison.runs.size(); ++i) {
    const auto& run = comparison.runs[i];
    std::string classes = comparison.deploy == i ? "best" : (run.counted() ? "" : "left-out");
    html += fmt::format(
        "<tr class=\"{}\"><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td class=\"name note\">{}</td></tr>\n",
        classes, escape_html(run.name), escape_html(run.state), epochs_text(run),
        run.best_epoch ? std::to_string(*run.best_epoch) : "-",
        run.best_epoch ? fmt::format("{:.4f}", run.best_val_accuracy) : "-", accuracy_text(run.test_accuracy),
        escape_html(comparison.deploy == i ? "deploy this fold" : run.problem));
  }
  return html + "</table>\n";
}

}  // namespace

bool has_wildcard(const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [](const std::string& pattern) { return pattern.find_first_of("*?[") != std::string::npos; });
}

std::vector<std::string> match_run_folders(const std::vector<std::string>& patterns) {
  std::set<std::string> folders;
  for (const auto& pattern : patterns)
    for (const auto& path : expand_glob(pattern, "--runs"))
      if (fs::is_directory(path)) folders.insert(path);
  if (folders.empty()) {
    std::string quoted;
    for (const auto& pattern : patterns) quoted += (quoted.empty() ? "\"" : ", \"") + pattern + "\"";
    throw std::runtime_error("no run folder matches --runs " + quoted +
                             "; run folders are runs/<dataset>_<model>_fold_<k>, e.g. --runs \"runs/hymenoptera_base_fold_*\"");
  }
  std::vector<std::string> sorted(folders.begin(), folders.end());
  std::sort(sorted.begin(), sorted.end(), natural_less);
  return sorted;
}

RunSummary summarise_run(const std::string& folder) {
  RunSummary run;
  run.folder = folder;
  run.name = folder_name(folder);
  run.state = "unknown";
  const train::RunFolder paths{folder};
  try {
    if (!fs::exists(paths.metrics_json()))
      run.problem = "no metrics.json: no epoch has finished";
    else
      run.history = train::read_metrics_json(paths.metrics_json());
    if (const auto state = train::read_run_state(train::run_state_path(paths))) {
      run.state = state->state;
      run.planned_epochs = state->planned_epochs;
      run.test_accuracy = state->test_accuracy;
    }
  } catch (const std::exception& error) {
    run.problem = error.what();
    return run;
  }
  if (const auto* best = best_epoch_row(run.history)) {
    run.best_epoch = best->epoch;
    run.best_val_accuracy = best->val_accuracy;
  }
  if (!run.test_accuracy) run.test_accuracy = inference::test_accuracy_beside(paths.best_checkpoint());
  if (!run.problem.empty()) return run;
  const int done = train::last_epoch(run.history);
  if (run.history.empty())
    run.problem = "metrics.json holds no epoch";
  else if (run.state == "training")
    run.problem = fmt::format("unfinished: {} of {} epochs (still training, or killed; continue it with ml-train --resume)",
                              done, run.planned_epochs);
  else if (run.state == "interrupted")
    run.problem = fmt::format("interrupted after {} of {} epochs; continue it with ml-train --resume", done,
                              run.planned_epochs);
  return run;
}

RunComparison compare_runs(const std::vector<std::string>& folders, bool report_missing_folds) {
  RunComparison comparison;
  for (const auto& folder : folders) comparison.runs.push_back(summarise_run(folder));
  for (const auto& name : report_missing_folds ? missing_folds(comparison.runs, folders) : std::vector<std::string>{}) {
    RunSummary missing;
    missing.name = name;
    missing.state = "missing";
    missing.problem = "missing: no run folder of this fold matches";
    comparison.runs.push_back(missing);
  }
  std::stable_sort(comparison.runs.begin(), comparison.runs.end(),
                   [](const RunSummary& a, const RunSummary& b) { return natural_less(a.name, b.name); });
  std::vector<double> best_val, test;
  for (size_t i = 0; i < comparison.runs.size(); ++i) {
    const auto& run = comparison.runs[i];
    if (!run.counted()) continue;
    best_val.push_back(run.best_val_accuracy);
    if (run.test_accuracy) test.push_back(*run.test_accuracy);
    if (!comparison.deploy || run.best_val_accuracy > comparison.runs[*comparison.deploy].best_val_accuracy)
      comparison.deploy = i;
  }
  comparison.best_val_accuracy = mean_and_deviation(best_val);
  comparison.test_accuracy = mean_and_deviation(test);
  return comparison;
}

std::string comparison_table(const RunComparison& comparison) {
  size_t width = 3;
  for (const auto& run : comparison.runs) width = std::max(width, run.name.size());
  std::string text = fmt::format("{:<{}}  {:<13}  {:>7}  {:>10}  {:>12}  {:>8}  {}\n", "run", width, "state", "epochs",
                                 "best epoch", "best val acc", "test acc", "note");
  for (size_t i = 0; i < comparison.runs.size(); ++i) {
    const auto& run = comparison.runs[i];
    text += fmt::format("{:<{}}  {:<13}  {:>7}  {:>10}  {:>12}  {:>8}  {}\n", run.name, width, run.state,
                        epochs_text(run), run.best_epoch ? std::to_string(*run.best_epoch) : "-",
                        run.best_epoch ? fmt::format("{:.4f}", run.best_val_accuracy) : "-",
                        accuracy_text(run.test_accuracy), comparison.deploy == i ? "← deploy" : run.problem);
  }
  text += "\nBest validation accuracy: " + summary_text(comparison.best_val_accuracy, comparison.runs.size()) + "\n";
  text += "Test accuracy:            " + summary_text(comparison.test_accuracy, comparison.runs.size()) + "\n";
  return text + deploy_line(comparison) + "\n";
}

std::string default_comparison_page_path(const std::vector<std::string>& folders) {
  std::string prefix = folders.empty() ? "" : folder_name(folders.front());
  for (const auto& folder : folders) {
    const std::string name = folder_name(folder);
    size_t common = 0;
    while (common < prefix.size() && common < name.size() && prefix[common] == name[common]) ++common;
    prefix.resize(common);
  }
  if (!prefix.empty() && prefix.back() != '_') prefix += "_";
  const fs::path parent = folders.empty() ? fs::path(".") : fs::path(folders.front()).lexically_normal().parent_path();
  return (parent / (prefix.empty() ? "runs_report.html" : prefix + "report.html")).string();
}

Page comparison_page(const RunComparison& comparison, const std::string& what) {
  const bool with_charts = chart_library().has_value();
  Page page;
  page.title = "Cross-validation " + what;
  const size_t counted = static_cast<size_t>(std::count_if(comparison.runs.begin(), comparison.runs.end(),
                                                           [](const RunSummary& run) { return run.counted(); }));
  page.subtitle = fmt::format("{} of {} runs summarised. {}", counted, comparison.runs.size(), deploy_line(comparison));

  std::string body = "<div class=\"facts\">\n";
  if (comparison.deploy) body += fact_box("fold to deploy", comparison.runs[*comparison.deploy].name, "deploy");
  if (comparison.best_val_accuracy)
    body += fact_box("best val accuracy (mean ± std)",
                 fmt::format("{:.4f} ± {:.4f}", comparison.best_val_accuracy->mean, comparison.best_val_accuracy->deviation),
                 "mean-best-val-accuracy");
  if (comparison.test_accuracy)
    body += fact_box("test accuracy (mean ± std)",
                 fmt::format("{:.4f} ± {:.4f}", comparison.test_accuracy->mean, comparison.test_accuracy->deviation),
                 "mean-test-accuracy");
  body += fact_box("runs summarised", fmt::format("{} / {}", counted, comparison.runs.size()), "runs-counted");
  body += "</div>\n<h2 id=\"folds\">Runs</h2>\n" + runs_table_html(comparison);
  body += "<p class=\"legend-note\">Mean and standard deviation (population) are over the runs without a note; the fold "
          "to deploy is the one with the highest best validation accuracy, whose weights/best.pt holds that epoch.</p>\n";

  std::set<int> epoch_set;
  for (const auto& run : comparison.runs)
    for (const auto& row : run.history) epoch_set.insert(row.epoch);
  const std::vector<int> epochs(epoch_set.begin(), epoch_set.end());
  nlohmann::json columns = {{"epoch", epochs}};
  struct Curve {
    const char* id;
    const char* title;
    const char* unit;
    double train::EpochMetrics::*field;
  };
  const Curve curves[] = {{"val_accuracy", "Validation accuracy", "accuracy", &train::EpochMetrics::val_accuracy},
                          {"val_loss", "Validation loss", "cross-entropy", &train::EpochMetrics::val_loss},
                          {"train_loss", "Training loss", "cross-entropy", &train::EpochMetrics::train_loss}};
  auto charts = nlohmann::json::array();
  for (const auto& curve : curves) {
    auto series = nlohmann::json::array();
    for (size_t i = 0; i < comparison.runs.size(); ++i) {
      const auto& run = comparison.runs[i];
      if (run.history.empty()) continue;
      const std::string key = fmt::format("run{}_{}", i, curve.id);
      columns[key] = run_column(run, epochs, curve.field);
      series.push_back({{"key", key}, {"label", run.name}});
    }
    charts.push_back({{"id", curve.id}, {"title", curve.title}, {"unit", curve.unit}, {"series", series}});
  }
  if (with_charts && !epochs.empty()) {
    body += "<h2 id=\"curves\">Curves</h2>\n<div class=\"charts\">\n";
    for (const auto& curve : curves) body += fmt::format("<div class=\"chart\" id=\"chart-{}\"></div>\n", curve.id);
    body += "</div>\n<p class=\"legend-note\">One line per run; the green vertical line is the best epoch of the fold to "
            "deploy.</p>\n";
  }
  page.body = body;
  page.data["epochs"] = columns;
  page.data["charts"] = charts;
  auto markers = nlohmann::json::array();
  if (comparison.deploy) {
    const auto& run = comparison.runs[*comparison.deploy];
    markers.push_back({{"epoch", run.best_epoch.value_or(0)}, {"kind", "best"},
                       {"label", fmt::format("{} best (epoch {})", run.name, run.best_epoch.value_or(0))}});
  }
  page.data["markers"] = markers;
  auto runs = nlohmann::json::array();
  for (const auto& run : comparison.runs) runs.push_back(run_json(run));
  page.data["runs"] = runs;
  page.data["summary"] = {{"best_val_accuracy", summary_json(comparison.best_val_accuracy)},
                          {"test_accuracy", summary_json(comparison.test_accuracy)},
                          {"deploy", comparison.deploy ? nlohmann::json(comparison.runs[*comparison.deploy].name)
                                                       : nlohmann::json(nullptr)}};
  return page;
}

}  // namespace mltk::report
