#pragma once
// What the training loop does differently when it is one of several data-parallel processes; with
// no collectives (a single process) every call leaves the values as they are.
#include "mltk/distributed/collectives.h"
#include "mltk/distributed/gradient_averager.h"
#include "mltk/models/classifier.h"

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace mltk::train {

// Joins the data-parallel job torchrun started this process in (read_launch_environment), or
// returns null when there is none. On ranks other than 0 only warnings and errors are logged from
// here on, prefixed with the rank. `timeout` bounds joining and every later collective operation.
std::shared_ptr<distributed::Collectives> join_data_parallel_job(std::chrono::milliseconds timeout);

class DataParallel {
 public:
  explicit DataParallel(std::shared_ptr<distributed::Collectives> collectives);

  bool is_leader() const { return !collectives_ || collectives_->rank() == 0; }
  int world_size() const { return collectives_ ? collectives_->world_size() : 1; }
  int rank() const { return collectives_ ? collectives_->rank() : 0; }

  // Gives every process rank 0's parameters and buffers, then averages the gradients of
  // `trainable` over the processes from the next backward pass on.
  void start(models::ClassifierImpl& model, const std::vector<torch::Tensor>& trainable);
  // Gives every process rank 0's buffers (BatchNorm's running statistics, which each process
  // updates from its own batches), so that every rank evaluates the weights rank 0 saves.
  void share_leader_buffers(models::ClassifierImpl& model);
  // After loss.backward(): the gradients become their mean over the processes.
  void average_gradients();
  // True when `local` holds on any process.
  bool on_any_process(bool local, const std::string& purpose);
  // Replaces each value by its sum over the processes.
  void sum(std::vector<double>& values, const std::string& purpose);

  // Seconds the steps so far waited for gradient all-reduces the backward pass had not hidden.
  double seconds_waiting_for_gradients() const { return averager_ ? averager_->seconds_waiting() : 0.0; }

 private:
  std::shared_ptr<distributed::Collectives> collectives_;
  std::optional<distributed::GradientAverager> averager_;
};

}  // namespace mltk::train
