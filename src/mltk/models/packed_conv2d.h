#pragma once
// A torch::nn::Conv2d that keeps oneDNN's reordered copy of its weight between inference calls.
#include <torch/nn/modules/conv.h>

#include <mutex>

namespace mltk::models {

// LibTorch reorders a convolution's weight into oneDNN's blocked layout on every call it runs on
// oneDNN, as PyTorch does in eager mode; over a ResNet-50 pass at batch 1 that is about a tenth of the
// time. Without gradients (evaluation, inference, validation), this module reorders the weight once
// and reuses the copy while the weight is unchanged (same tensor, storage and version), for the calls
// LibTorch itself would run on oneDNN. oneDNN then runs the same kernel on the same packed weight, so
// the output is bit for bit torch::nn::Conv2d's. Every other call (gradients on, tracing, other
// kernels, other layouts) is torch::nn::Conv2d's own, and a call with gradients on drops the copy, so
// training holds no second copy of the weights.
class PackedConv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;

  torch::Tensor forward(const torch::Tensor& input);

  // Whether a reordered copy of the weight is held (for tests and memory accounting).
  bool holds_packed_weight() const;

 private:
  const torch::ExpandingArray<2>* explicit_padding() const;  // null for "same" or "valid"
  c10::optional<torch::Tensor> optional_bias() const;
  bool runs_on_onednn(const torch::Tensor& input) const;
  torch::Tensor packed_weight();

  mutable std::mutex mutex_;  // a module may serve several threads' inference calls
  torch::Tensor packed_weight_, packed_from_;
  const void* packed_from_data_ = nullptr;
  uint32_t packed_from_version_ = 0;
};
TORCH_MODULE(PackedConv2d);

}  // namespace mltk::models
