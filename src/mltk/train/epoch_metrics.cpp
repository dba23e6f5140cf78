#include "mltk/train/epoch_metrics.h"

#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace mltk::train {

void write_metrics(const std::vector<EpochMetrics>& history, const std::string& csv_path, const std::string& json_path) {
  std::string csv = "epoch";
  for (const auto& column : kMetricColumns) csv += std::string(",") + column.name;
  csv += "\n";
  auto json = nlohmann::json::array();
  for (const auto& row : history) {
    csv += std::to_string(row.epoch);
    nlohmann::json entry = {{"epoch", row.epoch}};
    for (const auto& column : kMetricColumns) {
      csv += "," + format_metric(row.*column.field);
      entry[column.name] = row.*column.field;
    }
    csv += "\n";
    json.push_back(entry);
  }
  write_file_atomically(csv_path, csv);
  write_file_atomically(json_path, json.dump(2) + "\n");
}

std::vector<EpochMetrics> read_metrics_json(const std::string& json_path) {
  std::vector<EpochMetrics> history;
  if (!std::filesystem::exists(json_path)) return history;
  try {
    const auto entries = nlohmann::json::parse(read_file(json_path));
    if (!entries.is_array()) throw std::runtime_error("it is not an array of epochs");
    for (const auto& entry : entries) {
      EpochMetrics row;
      row.epoch = entry.at("epoch").get<int>();
      for (const auto& column : kMetricColumns) row.*column.field = entry.at(column.name).get<double>();
      history.push_back(row);
    }
  } catch (const std::exception& error) {
    throw std::runtime_error(json_path + " is damaged (" + error.what() +
                             "); rewrite it from metrics.csv, which holds the same numbers, or start the run again with --overwrite");
  }
  return history;
}

std::string format_metric(double value) { return fmt::format("{:.8g}", value); }

}  // namespace mltk::train
