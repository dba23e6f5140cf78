#pragma once
// What a training run has done so far, handed to TrainOptions::on_progress after every epoch and
// at the end, so that a caller can show it (the run's HTML page) without the trainer knowing how.
#include "mltk/config/config.h"
#include "mltk/data/split_index.h"
#include "mltk/pipeline/predict.h"
#include "mltk/train/epoch_metrics.h"
#include "mltk/train/run_folder.h"

#include <optional>
#include <string>
#include <vector>

namespace mltk::train {

enum class TrainOutcome { completed, early_stopped, interrupted };

struct ModelSummary {
  std::string architecture, weights_source, device;
  int64_t parameters = 0, trainable_parameters = 0;
};

// best.pt evaluated on the test split after training.
struct TestEvaluation {
  std::string checkpoint;
  int64_t checkpoint_epoch = 0;
  std::vector<data::Sample> samples;  // what predictions.sample_indices point into
  pipeline::Predictions predictions;
};

struct RunStatus {
  RunFolder folder;
  config::Config config;
  std::vector<std::string> class_names;
  ModelSummary model;
  std::vector<EpochMetrics> history;
  // The completed epoch each --resume continued from, oldest first.
  std::vector<int64_t> resumed_after;
  bool finished = false;  // no further epochs will follow
  TrainOutcome outcome = TrainOutcome::completed;
  std::optional<TestEvaluation> test;
};

}  // namespace mltk::train
