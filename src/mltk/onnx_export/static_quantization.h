#pragma once
// Static int8 quantization of an exported float ONNX file: calibrate the activations on real
// images, rewrite the graph into QDQ form (qdq_rewrite.h) and write the quantized file.
#include "mltk/onnx_export/calibration.h"
#include "mltk/onnx_export/qdq_rewrite.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mltk::onnx_export {

struct StaticQuantizationOptions {
  CalibrationMethod method = CalibrationMethod::MinMax;
  QdqOptions qdq;
  // Calibration runs batches of many images, so the float file has a symbolic batch dimension;
  // with a value here the quantized file's input and output get that fixed batch dimension instead.
  std::optional<int64_t> fixed_batch;
  // Added to (or replacing) the float file's metadata_props.
  std::map<std::string, std::string> metadata;
};

struct StaticQuantizationReport {
  QdqSummary summary;
  int64_t float_bytes = 0;      // size of the float file
  int64_t quantized_bytes = 0;  // size of the written file
};

// Reads the float model at `float_path` (opset 13 or later), calibrates it on `batches` and writes
// the quantized model atomically to `output_path`. Throws std::runtime_error naming what failed.
StaticQuantizationReport quantize_static(const std::string& float_path, const std::string& output_path,
                                         const CalibrationBatches& batches, const StaticQuantizationOptions& options);

}  // namespace mltk::onnx_export
