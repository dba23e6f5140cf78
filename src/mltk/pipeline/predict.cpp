#include "mltk/pipeline/predict.h"

#include "mltk/pipeline/loss.h"

#include <torch/torch.h>

namespace mltk::pipeline {

double Predictions::accuracy() const {
  if (labels.empty()) return 0.0;
  size_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += labels[i] == predicted[i];
  return static_cast<double>(correct) / labels.size();
}

Predictions predict(const ForwardFn& forward, data::DataLoader& loader, double label_smoothing) {
  torch::NoGradGuard no_grad;
  Predictions out;
  double loss_sum = 0.0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const auto logits = forward(batch->images).to(torch::kFloat);
    loss_sum += cross_entropy(logits, batch->labels, label_smoothing).item<double>() * batch->labels.size(0);
    const auto [confidence, predicted] = torch::softmax(logits, 1).max(1);
    const auto labels = batch->labels.contiguous();
    out.labels.insert(out.labels.end(), labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
    const auto p = predicted.contiguous();
    out.predicted.insert(out.predicted.end(), p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel());
    const auto c = confidence.contiguous();
    out.confidence.insert(out.confidence.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    out.sample_indices.insert(out.sample_indices.end(), batch->sample_indices.begin(), batch->sample_indices.end());
  }
  if (!out.labels.empty()) out.mean_loss = loss_sum / out.labels.size();
  return out;
}

}  // namespace mltk::pipeline
