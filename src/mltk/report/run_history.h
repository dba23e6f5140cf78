#pragma once
// The training history part of a run page: the epoch columns and chart descriptions for the page
// script, the markers (best epoch, resumes, early stop) and the epoch table.
#include "mltk/train/run_status.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace mltk::report {

// The epoch with the highest validation accuracy (the first of equals, as best.pt keeps it);
// nullopt for an empty history.
std::optional<int> best_epoch(const std::vector<train::EpochMetrics>& history);
// That epoch's row; nullptr for an empty history.
const train::EpochMetrics* best_epoch_row(const std::vector<train::EpochMetrics>& history);

// {"epoch": [...], "train_loss": [...], ...}: every metrics.csv column, each value exactly as
// metrics.csv writes it.
nlohmann::json epoch_columns(const std::vector<train::EpochMetrics>& history);
// The four charts: loss, accuracy, learning rate, images per second.
nlohmann::json chart_descriptions();
// [{"epoch", "kind": best|resumed|stopped, "label"}].
nlohmann::json history_markers(const train::RunStatus& status);

// The chart containers (when `with_charts`) and the table of every epoch.
std::string history_section(const train::RunStatus& status, bool with_charts);

}  // namespace mltk::report
