#pragma once
// Running a classifier over a data loader and collecting what every evaluation needs.
#include "mltk/data/data_loader.h"

#include <torch/types.h>

#include <functional>
#include <vector>

namespace mltk::pipeline {

// Logits [N, C] for a normalised image batch [N, 3, H, W]: a LibTorch model or an ONNX runtime.
using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

struct Predictions {
  std::vector<int64_t> labels;     // true class per sample
  std::vector<int64_t> predicted;  // argmax class per sample
  std::vector<float> confidence;   // softmax probability of the predicted class
  std::vector<size_t> sample_indices;
  double mean_loss = 0.0;          // cross-entropy (with label_smoothing) averaged over samples
  double accuracy() const;
};

// One pass over the loader from epoch 0, without gradients.
Predictions predict(const ForwardFn& forward, data::DataLoader& loader, double label_smoothing = 0.0);

}  // namespace mltk::pipeline
