#pragma once
// The per-epoch history of a run, written as metrics.csv and metrics.json after every epoch.
#include <string>
#include <vector>

namespace mltk::train {

struct EpochMetrics {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0;
  double lr = 0, epoch_seconds = 0, images_per_second = 0;
};

// The columns after "epoch", in metrics.csv's order; one table drives both files and every reader
// so that the CSV columns and JSON keys cannot drift apart.
struct MetricColumn {
  const char* name;
  double EpochMetrics::*field;
};
inline constexpr MetricColumn kMetricColumns[] = {
    {"train_loss", &EpochMetrics::train_loss},   {"train_accuracy", &EpochMetrics::train_accuracy},
    {"val_loss", &EpochMetrics::val_loss},       {"val_accuracy", &EpochMetrics::val_accuracy},
    {"lr", &EpochMetrics::lr},                   {"epoch_seconds", &EpochMetrics::epoch_seconds},
    {"images_per_second", &EpochMetrics::images_per_second},
};

// Both files are replaced atomically, so an interrupted run never leaves them half written.
void write_metrics(const std::vector<EpochMetrics>& history, const std::string& csv_path, const std::string& json_path);

// Reads metrics.json back (to extend it on --resume); an absent file gives an empty history. Throws
// naming the file when it is not the array of epoch objects write_metrics writes.
std::vector<EpochMetrics> read_metrics_json(const std::string& json_path);

// The last epoch of the history, 0 when none has finished.
inline int last_epoch(const std::vector<EpochMetrics>& history) { return history.empty() ? 0 : history.back().epoch; }

// A value as metrics.csv writes it (8 significant digits), so that what is shown elsewhere (the run
// page's charts) is exactly what the CSV holds.
std::string format_metric(double value);

}  // namespace mltk::train
