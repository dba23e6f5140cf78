#include "mltk/train/freeze.h"

#include <torch/nn/modules/linear.h>

#include <stdexcept>

namespace mltk::train {

std::vector<std::string> freeze_backbone(torch::nn::Module& model, int64_t num_classes) {
  std::string head_name;
  for (const auto& item : model.named_modules()) {
    const auto* linear = item.value()->as<torch::nn::Linear>();
    if (linear && linear->options.out_features() == num_classes) head_name = item.key();
  }
  if (head_name.empty())
    throw std::runtime_error("model.freeze_backbone: the model has no Linear layer with " + std::to_string(num_classes) +
                             " outputs to keep trainable");
  const std::string prefix = head_name + ".";
  std::vector<std::string> trainable;
  for (auto& item : model.named_parameters()) {
    const bool in_head = item.key().rfind(prefix, 0) == 0;
    item.value().set_requires_grad(in_head);
    if (in_head) trainable.push_back(item.key());
  }
  return trainable;
}

}  // namespace mltk::train
