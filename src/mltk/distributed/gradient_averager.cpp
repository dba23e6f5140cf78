#include "mltk/distributed/gradient_averager.h"

#include <torch/torch.h>

#include <chrono>

namespace mltk::distributed {

GradientAverager::GradientAverager(Collectives& collectives, std::vector<torch::Tensor> parameters, size_t bucket_bytes)
    : collectives_(collectives), parameters_(std::move(parameters)), slots_(parameters_.size()) {
  // The backward pass produces gradients roughly from the last layer to the first, so buckets are
  // filled in that order to become complete early.
  std::vector<std::vector<size_t>> members;
  size_t bytes = 0;
  for (size_t i = parameters_.size(); i-- > 0;) {
    const size_t parameter_bytes = parameters_[i].numel() * parameters_[i].element_size();
    if (members.empty() || (bytes > 0 && bytes + parameter_bytes > bucket_bytes)) {
      members.emplace_back();
      bytes = 0;
    }
    members.back().push_back(i);
    bytes += parameter_bytes;
  }
  for (size_t b = 0; b < members.size(); ++b) {
    Bucket bucket;
    int64_t offset = 0;
    for (size_t i : members[b]) {
      slots_[i] = {b, offset, false};
      offset += parameters_[i].numel();
    }
    bucket.flat = torch::zeros({offset}, parameters_[members[b].front()].options().requires_grad(false));
    bucket.size = bucket.pending = members[b].size();
    buckets_.push_back(std::move(bucket));
  }
  for (size_t i = 0; i < parameters_.size(); ++i)
    parameters_[i].register_hook([this, i](const torch::Tensor& gradient) { on_gradient(i, gradient); });
}

void GradientAverager::on_gradient(size_t parameter, const torch::Tensor& gradient) {
  Slot& slot = slots_[parameter];
  Bucket& bucket = buckets_[slot.bucket];
  bucket.flat.narrow(0, slot.offset, gradient.numel()).copy_(gradient.reshape(-1));
  if (!slot.received) {
    slot.received = true;
    --bucket.pending;
  }
  start_ready_buckets();
}

void GradientAverager::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& bucket = buckets_[next_bucket_];
    bucket.wait = collectives_.start_sum(bucket.flat, "averaging gradients");
    ++next_bucket_;
  }
}

void GradientAverager::finish_step() {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.received) continue;
    buckets_[slot.bucket].flat.narrow(0, slot.offset, parameters_[i].numel()).zero_();
    slot.received = true;
    --buckets_[slot.bucket].pending;
  }
  start_ready_buckets();
  const auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) bucket.wait();
  seconds_waiting_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double world_size = collectives_.world_size();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Slot& slot = slots_[i];
    auto& parameter = parameters_[i];
    const auto mean = buckets_[slot.bucket].flat.narrow(0, slot.offset, parameter.numel()).view_as(parameter) / world_size;
    if (parameter.grad().defined()) parameter.mutable_grad().copy_(mean);
    else parameter.mutable_grad() = mean.clone();
    slot.received = false;
  }
  for (auto& bucket : buckets_) {
    bucket.pending = bucket.size;
    bucket.wait = nullptr;
  }
  next_bucket_ = 0;
}

}  // namespace mltk::distributed
