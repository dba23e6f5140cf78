#include "mltk/runtime/runner_factory.h"

#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/reference_evaluator.h"

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

}  // namespace mltk::runtime
