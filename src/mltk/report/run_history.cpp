#include "mltk/report/run_history.h"

#include "mltk/report/html.h"

#include <fmt/format.h>

#include <algorithm>

namespace mltk::report {

namespace {

using train::EpochMetrics;

bool contains(const std::vector<int64_t>& values, int64_t value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

const EpochMetrics* best_epoch_row(const std::vector<EpochMetrics>& history) {
  const EpochMetrics* best = nullptr;
  for (const auto& row : history)
    if (!best || row.val_accuracy > best->val_accuracy) best = &row;
  return best;
}

std::optional<int> best_epoch(const std::vector<EpochMetrics>& history) {
  if (const auto* row = best_epoch_row(history)) return row->epoch;
  return std::nullopt;
}

nlohmann::json epoch_columns(const std::vector<EpochMetrics>& history) {
  nlohmann::json columns = {{"epoch", nlohmann::json::array()}};
  for (const auto& column : train::kMetricColumns) columns[column.name] = nlohmann::json::array();
  for (const auto& row : history) {
    columns["epoch"].push_back(row.epoch);
    for (const auto& column : train::kMetricColumns)
      columns[column.name].push_back(std::stod(train::format_metric(row.*column.field)));
  }
  return columns;
}

nlohmann::json chart_descriptions() {
  const auto series = [](const char* key, const char* label) { return nlohmann::json{{"key", key}, {"label", label}}; };
  return nlohmann::json::array({
      {{"id", "loss"}, {"title", "Loss"}, {"unit", "cross-entropy"},
       {"series", {series("train_loss", "train"), series("val_loss", "validation")}}},
      {{"id", "accuracy"}, {"title", "Accuracy"}, {"unit", "accuracy"},
       {"series", {series("train_accuracy", "train"), series("val_accuracy", "validation")}}},
      {{"id", "lr"}, {"title", "Learning rate"}, {"unit", "learning rate"}, {"series", {series("lr", "learning rate")}}},
      {{"id", "throughput"}, {"title", "Training speed"}, {"unit", "images/s"},
       {"series", {series("images_per_second", "training images/s")}}},
  });
}

nlohmann::json history_markers(const train::RunStatus& status) {
  auto markers = nlohmann::json::array();
  if (const auto best = best_epoch(status.history))
    markers.push_back({{"epoch", *best}, {"kind", "best"}, {"label", fmt::format("best (epoch {})", *best)}});
  for (const auto epoch : status.resumed_after)
    markers.push_back({{"epoch", epoch}, {"kind", "resumed"}, {"label", fmt::format("resumed after {}", epoch)}});
  if (status.outcome == train::TrainOutcome::early_stopped && !status.history.empty())
    markers.push_back({{"epoch", status.history.back().epoch}, {"kind", "stopped"}, {"label", "early stop"}});
  return markers;
}

std::string history_section(const train::RunStatus& status, bool with_charts) {
  std::string html = "<h2 id=\"history\">Training history</h2>\n";
  if (with_charts) {
    html += "<div class=\"charts\">\n";
    for (const auto& chart : chart_descriptions())
      html += "<div class=\"chart\" id=\"chart-" + chart["id"].get<std::string>() + "\"></div>\n";
    html += "</div>\n<p class=\"legend-note\">Vertical lines: green, the best epoch (weights/best.pt); grey dashed, "
            "where the run was resumed; red dotted, where early stopping ended it.</p>\n";
  }
  const auto best = best_epoch(status.history);
  html += "<details" + std::string(with_charts ? "" : " open") + "><summary>Every epoch (" +
          std::to_string(status.history.size()) + ")</summary>\n<table id=\"epochs\">\n<tr><th>epoch</th>";
  for (const char* heading : {"train loss", "train acc", "val loss", "val acc", "lr", "seconds", "images/s"})
    html += fmt::format("<th>{}</th>", heading);
  html += "</tr>\n";
  for (const auto& row : status.history) {
    std::string classes;
    if (best && row.epoch == *best) classes += " best";
    if (contains(status.resumed_after, row.epoch - 1)) classes += " resumed";
    html += fmt::format(
        "<tr class=\"{}\"><td class=\"name\">{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td>"
        "<td>{:.3g}</td><td>{:.1f}</td><td>{:.1f}</td></tr>\n",
        classes.empty() ? "" : classes.substr(1), row.epoch, row.train_loss, row.train_accuracy, row.val_loss,
        row.val_accuracy, row.lr, row.epoch_seconds, row.images_per_second);
  }
  html += "</table>\n";
  if (!status.resumed_after.empty()) html += "<p class=\"legend-note\">↻ first epoch after a resume.</p>\n";
  html += "</details>\n";
  return html;
}

}  // namespace mltk::report
