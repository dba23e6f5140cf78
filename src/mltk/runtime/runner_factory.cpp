#include "mltk/runtime/runner_factory.h"

#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/reference_evaluator.h"

#include <onnx/onnx_pb.h>

#include <stdexcept>

namespace mltk::runtime {

const std::vector<std::string>& onnx_runner_names() {
  static const std::vector<std::string> names{"reference", "onnxruntime"};
  return names;
}

std::unique_ptr<OnnxRunner> make_onnx_runner(const std::string& name, const std::string& model_path, int threads) {
  if (name == "reference") return std::make_unique<ReferenceEvaluator>(model_path);
  if (name == "onnxruntime") return std::make_unique<OnnxRuntimeNode>(model_path, threads);
  throw std::invalid_argument("unknown ONNX runtime '" + name + "'; use reference or onnxruntime");
}

std::unique_ptr<OnnxRunner> make_onnx_runner(const std::string& name, onnx::ModelProto&& loaded_model,
                                             const std::string& model_path, int threads) {
  if (name == "reference") return std::make_unique<ReferenceEvaluator>(std::move(loaded_model), model_path);
  return make_onnx_runner(name, model_path, threads);
}

}  // namespace mltk::runtime
