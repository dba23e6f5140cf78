#pragma once
// What weights/last.pt carries beyond the model so that --resume continues a run exactly: the
// optimizer's buffers, the scheduler, the best metric so far and early-stopping progress.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/train/metric_tracker.h"
#include "mltk/train/scheduler.h"

#include <torch/optim/optimizer.h>

namespace mltk::train {

struct TrainingState {
  torch::optim::Optimizer& optimizer;
  LrScheduler& scheduler;
  MetricTracker& best_accuracy;   // picks best.pt
  MetricTracker& early_stopping;  // follows training.early_stopping.monitor
};

// Adds the state to `checkpoint.extras` (optimizer state as raw bytes in a uint8 tensor, which
// torch.load reads as it is, unlike a str that must be valid UTF-8).
void store_training_state(checkpoint::Checkpoint& checkpoint, TrainingState state, int64_t seed);

// Restores what store_training_state wrote; throws naming `source` when an entry is missing.
void restore_training_state(const checkpoint::Checkpoint& checkpoint, TrainingState state, const std::string& source);

// The epochs after which the run was resumed, kept in last.pt so that its history can show them.
void store_resumes(checkpoint::Checkpoint& checkpoint, const std::vector<int64_t>& resumed_after);
// What store_resumes wrote; empty for checkpoints written before it existed. Throws naming
// `source` when the entry is not a list of integers.
std::vector<int64_t> restore_resumes(const checkpoint::Checkpoint& checkpoint, const std::string& source);

}  // namespace mltk::train
