#pragma once
// model.freeze_backbone: fine-tune only the classifier head.
#include <torch/nn/module.h>

#include <string>
#include <vector>

namespace mltk::train {

// Turns off gradients for every parameter except those of the classifier head, defined as the
// last torch::nn::Linear (in registration order) whose output size is num_classes. Every zoo
// architecture ends in such a layer (fc, classifier, classifier.N, heads.head), while Linear
// layers inside the backbone (ViT/ConvNeXt MLPs) come before it. Returns the names of the
// parameters left trainable; throws when the model has no such layer.
std::vector<std::string> freeze_backbone(torch::nn::Module& model, int64_t num_classes);

}  // namespace mltk::train
