#pragma once
// Progress of one epoch: on a terminal a single line redrawn in place (images/s, loss, ETA); in a
// log file or pipe, where carriage returns would pile up, a plain log line every tenth of the epoch.
#include <chrono>
#include <cstddef>
#include <string>

namespace mltk::train {

class EpochProgress {
 public:
  EpochProgress(std::string label, size_t num_batches);
  // After each batch: batches done so far, images done so far and the running mean loss.
  void update(size_t batches_done, size_t images_done, double mean_loss);
  // Clears the terminal line so that the epoch summary starts on a fresh line.
  void finish();

 private:
  std::string label_;
  size_t num_batches_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace mltk::train
