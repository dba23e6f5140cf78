#pragma once
// The processes of a data-parallel job and the collective operations between them, on c10d's Gloo
// process group. An operation that fails or times out throws an error naming the ranks that
// stopped responding or fell behind, so that no process waits for a dead peer forever.
#include "mltk/distributed/launch_environment.h"

#include <torch/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mltk::distributed {

class Collectives {
 public:
  // Joins the job's store and connects to every other process. `timeout` bounds the joining and
  // every later operation; throws when it passes, naming MASTER_ADDR:MASTER_PORT or the ranks.
  Collectives(const LaunchEnvironment& environment, std::chrono::milliseconds timeout);
  ~Collectives();
  Collectives(const Collectives&) = delete;
  Collectives& operator=(const Collectives&) = delete;

  int rank() const;
  int world_size() const;

  // Overwrites `tensors` (any dtypes) on every rank with rank 0's values.
  void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors);
  // Replaces `tensor` on every rank by its sum, or maximum, over the ranks.
  void sum(const torch::Tensor& tensor, const std::string& purpose);
  void max(const torch::Tensor& tensor, const std::string& purpose);
  // Starts summing `tensor` in place and returns at once; the returned function waits for the sum.
  // Operations must be started in the same order on every rank.
  std::function<void()> start_sum(const torch::Tensor& tensor, const std::string& purpose);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mltk::distributed
