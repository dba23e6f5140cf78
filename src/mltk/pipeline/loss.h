#pragma once
#include <torch/types.h>

namespace mltk::pipeline {

// Mean cross-entropy of `logits` [N, C] against class indices `targets` [N], with label smoothing
// as torch.nn.CrossEntropyLoss(label_smoothing=...): the target distribution puts
// 1 - smoothing + smoothing / C on the true class and smoothing / C on every other.
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing);

}  // namespace mltk::pipeline
