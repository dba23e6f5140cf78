#pragma once
// ONNX Runtime through Node: no C/C++ ONNX Runtime is available from Debian, so models run in
// tools/ort/run_model.js with the onnxruntime-node package, exchanging tensors as raw files.
#include "mltk/runtime/onnx_runner.h"

#include <filesystem>
#include <string>
#include <vector>

namespace mltk::runtime {

class OnnxRuntimeNode : public OnnxRunner {
 public:
  // Checks that the model file exists and that node and onnxruntime-node work (throwing
  // std::runtime_error with install instructions otherwise). intra_op_threads 0 lets ONNX Runtime
  // choose. run_model.js is looked up in $MLTK_ORT_DIR if set, else in the source tree's tools/ort
  // baked in at build time if it still exists, else in tools/ort next to the running executable.
  explicit OnnxRuntimeNode(std::filesystem::path model_path, int intra_op_threads = 0);

  std::string name() const override;  // "onnxruntime <version>"
  // Accepts float32 and int64 tensors (any device, any layout; they are copied to CPU).
  std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs) override;

 private:
  std::filesystem::path model_path_;
  int intra_op_threads_;
  std::filesystem::path tools_dir_;
  std::string version_;
};

}  // namespace mltk::runtime
