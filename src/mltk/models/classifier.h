#pragma once
// The interface every architecture of the zoo implements: one image batch in, one logits batch out.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>

namespace mltk::models {

class ClassifierImpl : public torch::nn::Module {
 public:
  // Input: float [N, 3, H, W], normalised. Output: logits [N, num_classes].
  virtual torch::Tensor forward(torch::Tensor images) = 0;
};

using Classifier = std::shared_ptr<ClassifierImpl>;

}  // namespace mltk::models
