#pragma once
// Averages the gradients of the trainable parameters over the processes after every backward pass,
// as DistributedDataParallel does: the gradients are packed into buckets of about `bucket_bytes`,
// and each bucket's all-reduce starts as soon as the backward pass has produced all of its
// gradients, so that communication overlaps with the rest of the backward pass.
#include "mltk/distributed/collectives.h"

#include <torch/types.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace mltk::distributed {

class GradientAverager {
 public:
  // Registers a gradient hook on each of `parameters`; the averager must outlive every backward pass
  // through them.
  GradientAverager(Collectives& collectives, std::vector<torch::Tensor> parameters,
                   size_t bucket_bytes = 25u << 20);

  // After loss.backward(): starts the buckets not started yet (parameters the step did not use
  // count as zero gradients), waits for every bucket and sets each parameter's .grad to the mean.
  void finish_step();

  // Time finish_step spent waiting for all-reduces that had not completed when backward ended:
  // the part of communication the backward pass did not hide.
  double seconds_waiting() const { return seconds_waiting_; }

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;
    bool received = false;
  };
  struct Bucket {
    torch::Tensor flat;
    size_t pending = 0, size = 0;
    std::function<void()> wait;  // set once its all-reduce has started
  };

  void on_gradient(size_t parameter, const torch::Tensor& gradient);
  void start_ready_buckets();

  Collectives& collectives_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  size_t next_bucket_ = 0;  // buckets start in index order on every rank
  double seconds_waiting_ = 0.0;
};

}  // namespace mltk::distributed
