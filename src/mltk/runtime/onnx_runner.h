#pragma once
// A runtime that executes an ONNX model file: the reference evaluator and ONNX Runtime both
// implement this, so validation can compare either against LibTorch.
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace mltk::runtime {

class OnnxRunner {
 public:
  virtual ~OnnxRunner() = default;
  // Human-readable runtime name for logs and reports ("reference", "onnxruntime 1.30.0").
  virtual std::string name() const = 0;
  // Runs the graph: inputs in the order of the graph's (non-initializer) inputs, outputs in the
  // order of the graph's outputs. Throws std::runtime_error with an actionable message on failure.
  virtual std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs) = 0;
};

}  // namespace mltk::runtime
