#include "mltk/onnx_export/calibration.h"

#include "mltk/runtime/reference_evaluator.h"

#include <torch/torch.h>

#include <set>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// Runs every batch through the model and hands each watched tensor's value to `record`; the graph
// input is not a node output, so it is recorded from the batch itself. Returns the batch count.
int64_t observe_watched(runtime::ReferenceEvaluator& evaluator, const std::set<std::string>& watched,
                        const CalibrationBatches& batches,
                        const std::function<void(const std::string&, const at::Tensor&)>& record) {
  const auto& input_name = evaluator.input_names().at(0);
  int64_t count = 0;
  batches([&](const at::Tensor& batch) {
    ++count;
    if (watched.count(input_name)) record(input_name, batch);
    evaluator.run({batch}, [&](const std::string& name, const at::Tensor& value) {
      if (watched.count(name)) record(name, value);
    });
  });
  return count;
}

// The first bin at which the cumulative count reaches `fraction` of all counts.
int64_t quantile_bin(const at::Tensor& counts, double fraction) {
  const auto cumulative = counts.cumsum(0);
  const double target = fraction * cumulative[-1].item<double>();
  return (cumulative < target).sum().item<int64_t>();
}

// The range between the lower edge of the (100 - p)-th percentile's bin and the upper edge of the
// p-th percentile's bin, p = kCalibrationPercentile.
ActivationRange percentile_range(const at::Tensor& counts, const ActivationRange& full) {
  const double tail = 1.0 - kCalibrationPercentile / 100.0;
  const double width = (static_cast<double>(full.max) - full.min) / static_cast<double>(counts.size(0));
  const int64_t low_bin = quantile_bin(counts, tail);
  const int64_t high_bin = std::min(quantile_bin(counts, 1.0 - tail), counts.size(0) - 1);
  return {static_cast<float>(full.min + width * static_cast<double>(low_bin)),
          static_cast<float>(full.min + width * static_cast<double>(high_bin + 1))};
}

}  // namespace

std::string to_string(CalibrationMethod method) { return method == CalibrationMethod::MinMax ? "minmax" : "percentile"; }

CalibrationMethod parse_calibration_method(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::MinMax;
  if (name == "percentile") return CalibrationMethod::Percentile;
  throw std::invalid_argument("unknown calibration method '" + name + "'; use minmax or percentile");
}

std::map<std::string, ActivationRange> calibrate(const std::string& model_path, const std::vector<std::string>& tensors,
                                                 const CalibrationBatches& batches, CalibrationMethod method) {
  runtime::ReferenceEvaluator evaluator(model_path);
  const std::set<std::string> watched(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  std::map<std::string, ActivationRange> ranges;
  const int64_t batch_count = observe_watched(evaluator, watched, batches, [&](const std::string& name, const at::Tensor& value) {
    const auto [low, high] = torch::aminmax(value);
    const ActivationRange seen{low.item<float>(), high.item<float>()};
    const auto [it, first] = ranges.emplace(name, seen);
    if (!first) it->second = {std::min(it->second.min, seen.min), std::max(it->second.max, seen.max)};
  });
  if (batch_count == 0) throw std::runtime_error("calibration ran on no image: there was no calibration batch");
  for (const auto& name : tensors)
    if (!ranges.count(name)) throw std::runtime_error("calibration: tensor '" + name + "' is never produced by " + model_path);
  if (method == CalibrationMethod::MinMax) return ranges;

  std::map<std::string, at::Tensor> histograms;
  for (const auto& [name, range] : ranges) histograms[name] = torch::zeros({kCalibrationBins}, torch::kDouble);
  observe_watched(evaluator, watched, batches, [&](const std::string& name, const at::Tensor& value) {
    const auto& range = ranges.at(name);
    if (!(range.max > range.min)) return;
    histograms[name] += torch::histc(value.to(torch::kFloat), kCalibrationBins, range.min, range.max).to(torch::kDouble);
  });
  std::map<std::string, ActivationRange> clipped;
  for (const auto& [name, range] : ranges)
    clipped[name] = range.max > range.min ? percentile_range(histograms[name], range) : range;
  return clipped;
}

}  // namespace mltk::onnx_export
