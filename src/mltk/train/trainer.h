#pragma once
// ml-train's training run: model, data, optimisation loop, checkpoints and run-folder files.
#include "mltk/config/config.h"
#include "mltk/train/run_folder.h"

#include <optional>
#include <string>

namespace mltk::train {

struct TrainOptions {
  std::string runs_dir = "runs";
  ExistingRun existing_run = ExistingRun::refuse;
};

enum class TrainOutcome { completed, early_stopped, interrupted };

struct TrainResult {
  RunFolder folder;
  TrainOutcome outcome = TrainOutcome::completed;
  int epochs_done = 0;
  double best_val_accuracy = 0.0;
  std::optional<double> test_accuracy;  // absent when interrupted or the test split is empty
};

// Trains as `config` describes, writing the run folder. Throws on bad data or configuration and
// when the loss becomes NaN or infinite (naming the epoch and batch). Ctrl-C ends the run after
// the current batch with outcome `interrupted`, after saving weights/last.pt.
TrainResult train(const config::Config& config, const TrainOptions& options);

}  // namespace mltk::train
