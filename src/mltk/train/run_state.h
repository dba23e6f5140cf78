#pragma once
// runs/<run>/run_state.json: where a run stands (training, completed, stopped early, interrupted),
// its best epoch and its test accuracy, rewritten after every epoch and at the end, so that tools
// summarising several runs (ml-report) need neither the page nor the log.
#include "mltk/train/run_status.h"

#include <optional>
#include <string>

namespace mltk::train {

struct RunState {
  std::string state;  // "training", "completed", "early_stopped" or "interrupted"
  int epochs_done = 0;
  int planned_epochs = 0;
  std::optional<double> test_accuracy;  // best.pt on the test split, once evaluated
  int64_t test_images = 0;
  int64_t test_checkpoint_epoch = 0;
};

RunState run_state(const RunStatus& status);

// The run folder's run_state.json.
std::string run_state_path(const RunFolder& folder);

// Replaces the file atomically.
void write_run_state(const RunStatus& status);

// nullopt when the file does not exist (a run from before it was written); throws naming the file
// when it is not what write_run_state writes.
std::optional<RunState> read_run_state(const std::string& path);

}  // namespace mltk::train
