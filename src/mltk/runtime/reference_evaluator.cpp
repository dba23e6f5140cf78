#include "mltk/runtime/reference_evaluator.h"

#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <stdexcept>

namespace mltk::runtime {
namespace {

std::string node_label(const onnx::NodeProto& node, int index) {
  return "node #" + std::to_string(index) + (node.name().empty() ? "" : " '" + node.name() + "'");
}

}  // namespace

ReferenceEvaluator::ReferenceEvaluator(const std::string& model_path)
    : model_(std::make_unique<onnx::ModelProto>(load_onnx_model(model_path))),
      registry_(default_operator_registry()) {
  try {
    opset_ = default_domain_opset(*model_);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("'" + model_path + "': " + e.what());
  }
  const auto& graph = model_->graph();
  // Reject unknown operators up front so a missing kernel is reported before any work is done.
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if (!default_domain || registry_.find(node.op_type()) == nullptr) {
      throw std::runtime_error("reference evaluator: operator '" +
                               (default_domain ? node.op_type() : node.domain() + "::" + node.op_type()) +
                               "' (opset " + std::to_string(opset_) + ") is not implemented; used by " +
                               node_label(node, i) + " in '" + model_path + "'");
    }
  }
  for (const auto& initializer : graph.initializer()) {
    initializers_[initializer.name()] = tensor_from_proto(initializer);
  }
  // Before IR version 4 initializers were also listed as graph inputs; those are not run() inputs.
  for (const auto& input : graph.input()) {
    if (initializers_.count(input.name()) == 0) input_names_.push_back(input.name());
  }
}

ReferenceEvaluator::~ReferenceEvaluator() = default;

std::vector<torch::Tensor> ReferenceEvaluator::run(const std::vector<torch::Tensor>& inputs) {
  if (inputs.size() != input_names_.size()) {
    throw std::runtime_error("reference evaluator: model expects " + std::to_string(input_names_.size()) +
                             " inputs, got " + std::to_string(inputs.size()));
  }
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> values = initializers_;
  for (size_t i = 0; i < inputs.size(); ++i) values[input_names_[i]] = inputs[i];

  const auto& graph = model_->graph();
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    std::vector<torch::Tensor> node_inputs;
    for (const auto& name : node.input()) {
      if (name.empty()) {
        node_inputs.emplace_back();  // omitted optional input
        continue;
      }
      const auto it = values.find(name);
      if (it == values.end()) {
        throw std::runtime_error("reference evaluator: " + node_label(node, i) + " (" + node.op_type() +
                                 ") reads '" + name + "', which no earlier node produces");
      }
      node_inputs.push_back(it->second);
    }
    const OpContext context(node, std::move(node_inputs), opset_);
    auto outputs = (*registry_.find(node.op_type()))(context);
    for (int o = 0; o < node.output_size(); ++o) {
      if (node.output(o).empty()) continue;
      if (static_cast<size_t>(o) >= outputs.size()) context.fail("output #" + std::to_string(o) + " is not produced");
      values[node.output(o)] = std::move(outputs[o]);
    }
  }

  std::vector<torch::Tensor> results;
  for (const auto& output : graph.output()) {
    const auto it = values.find(output.name());
    if (it == values.end()) {
      throw std::runtime_error("reference evaluator: graph output '" + output.name() + "' is never produced");
    }
    results.push_back(it->second);
  }
  return results;
}

}  // namespace mltk::runtime
