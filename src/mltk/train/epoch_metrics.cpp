#include "mltk/train/epoch_metrics.h"

#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace mltk::train {

namespace {

// One table drives both formats so that the CSV columns and JSON keys cannot drift apart.
struct Column {
  const char* name;
  double EpochMetrics::*field;
};
constexpr Column kColumns[] = {
    {"train_loss", &EpochMetrics::train_loss},   {"train_accuracy", &EpochMetrics::train_accuracy},
    {"val_loss", &EpochMetrics::val_loss},       {"val_accuracy", &EpochMetrics::val_accuracy},
    {"lr", &EpochMetrics::lr},                   {"epoch_seconds", &EpochMetrics::epoch_seconds},
    {"images_per_second", &EpochMetrics::images_per_second},
};

}  // namespace

void write_metrics(const std::vector<EpochMetrics>& history, const std::string& csv_path, const std::string& json_path) {
  std::string csv = "epoch";
  for (const auto& column : kColumns) csv += std::string(",") + column.name;
  csv += "\n";
  auto json = nlohmann::json::array();
  for (const auto& row : history) {
    csv += std::to_string(row.epoch);
    nlohmann::json entry = {{"epoch", row.epoch}};
    for (const auto& column : kColumns) {
      csv += fmt::format(",{:.8g}", row.*column.field);
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
  for (const auto& entry : nlohmann::json::parse(read_file(json_path))) {
    EpochMetrics row;
    row.epoch = entry.at("epoch").get<int>();
    for (const auto& column : kColumns) row.*column.field = entry.at(column.name).get<double>();
    history.push_back(row);
  }
  return history;
}

}  // namespace mltk::train
