#pragma once
// Calibration of static quantization: the float ONNX model runs in the reference evaluator over
// real images, and the range of every activation that will be quantized is recorded.
#include "mltk/onnx_export/quantization_params.h"

#include <torch/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mltk::onnx_export {

enum class CalibrationMethod {
  MinMax,      // the smallest and largest value seen
  Percentile,  // the kCalibrationPercentile-th and (100 - it)-th percentile: rare outliers are clipped
};

inline constexpr double kCalibrationPercentile = 99.99;
// Bins of the percentile histogram over [min, max] of each activation: the percentile is exact to
// one bin, (max - min) / kCalibrationBins.
inline constexpr int64_t kCalibrationBins = 2048;

// "minmax" / "percentile"; parse throws std::invalid_argument naming the accepted values.
std::string to_string(CalibrationMethod method);
CalibrationMethod parse_calibration_method(const std::string& name);

// Calls its argument with each calibration batch (NCHW float) in turn; called once per pass over
// the images (twice for the percentile method), and must yield the same batches each time.
using CalibrationBatches = std::function<void(const std::function<void(const at::Tensor&)>&)>;

// Runs the model at `model_path` over the batches and returns the range of each tensor named in
// `tensors` (graph inputs and node outputs). Throws std::runtime_error when there is no batch or a
// named tensor is never produced.
std::map<std::string, ActivationRange> calibrate(const std::string& model_path, const std::vector<std::string>& tensors,
                                                 const CalibrationBatches& batches, CalibrationMethod method);

}  // namespace mltk::onnx_export
