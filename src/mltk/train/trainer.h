#pragma once
// ml-train's training run: model, data, optimisation loop, checkpoints and run-folder files.
#include "mltk/config/config.h"
#include "mltk/train/run_status.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mltk::distributed {
class Collectives;
}

namespace mltk::train {

struct TrainOptions {
  std::string runs_dir = "runs";
  ExistingRun existing_run = ExistingRun::refuse;
  // Called after every epoch's checkpoints and metrics are written, and once more when the run
  // ends (RunStatus::finished, with the test evaluation when there was one).
  std::function<void(const RunStatus&)> on_progress;
  // The other processes of a data-parallel job (join_data_parallel_job); null for a single process.
  // Only rank 0 writes the run folder and calls on_progress.
  std::shared_ptr<distributed::Collectives> collectives;
};

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
