#pragma once
// Executes an ONNX graph node by node with ATen kernels. Slow but simple: it is the oracle the
// exporter's output is checked against, so every operator follows the ONNX specification
// for the model's opset rather than any particular runtime.
#include "mltk/runtime/onnx_runner.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace mltk::runtime {

class OperatorRegistry;

class ReferenceEvaluator : public OnnxRunner {
 public:
  // Loads the model; throws std::runtime_error when the file is unusable, the opset is
  // unsupported or a node uses an operator the evaluator does not implement.
  explicit ReferenceEvaluator(const std::string& model_path);
  // Runs a model already loaded from `model_path` (named in errors), taking over its weights.
  ReferenceEvaluator(onnx::ModelProto model, const std::string& model_path);
  ~ReferenceEvaluator() override;

  std::string name() const override { return "reference"; }
  std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs) override;

  // Called with the name and value of every node output as it is produced (calibration reads
  // intermediate activations this way without making them graph outputs).
  using ValueObserver = std::function<void(const std::string& name, const torch::Tensor& value)>;
  std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs, const ValueObserver& observe);

  int64_t opset() const { return opset_; }
  // Names of the graph inputs run() expects, in order (initializers excluded).
  const std::vector<std::string>& input_names() const { return input_names_; }

 private:
  std::unique_ptr<onnx::ModelProto> model_;
  int64_t opset_ = 0;
  const OperatorRegistry& registry_;
  std::map<std::string, torch::Tensor> initializers_;
  std::vector<std::string> input_names_;
  std::vector<int> input_indices_;           // positions of input_names_ in graph.input
  std::map<std::string, int> last_reader_;  // value name -> index of the last node reading it
};

}  // namespace mltk::runtime
