#include "mltk/pipeline/loss.h"

#include <torch/nn/functional/loss.h>

namespace mltk::pipeline {

torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
}

}  // namespace mltk::pipeline
