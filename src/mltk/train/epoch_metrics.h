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

// Both files are replaced atomically, so an interrupted run never leaves them half written.
void write_metrics(const std::vector<EpochMetrics>& history, const std::string& csv_path, const std::string& json_path);

// Reads metrics.json back (to extend it on --resume); an absent file gives an empty history.
std::vector<EpochMetrics> read_metrics_json(const std::string& json_path);

}  // namespace mltk::train
