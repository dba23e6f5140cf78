#pragma once
// Test oracle: runs an ONNX file in ONNX Runtime through tools/ort/ort_run.js (Node.js), which
// shares no code with the exporter.
#include <torch/types.h>

#include <string>

namespace mltk::test_support {

// Empty when ONNX Runtime can be used; otherwise why not (node or onnxruntime-node missing).
std::string onnxruntime_unavailable_reason();

// Runs the model's first input/output on a float32 CPU tensor.
torch::Tensor run_with_onnxruntime(const std::string& model_path, const torch::Tensor& input);

}  // namespace mltk::test_support
