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

// Checks a run() input against the graph's declaration (element type, rank, fixed dimensions)
// so a wrong input is reported by name instead of as an ATen error deep inside the graph.
void check_input(const onnx::ValueInfoProto& declared, const torch::Tensor& actual) {
  const auto fail = [&](const std::string& problem) {
    throw std::runtime_error("reference evaluator: input '" + declared.name() + "' " + problem);
  };
  if (!actual.defined()) fail("is an undefined tensor");
  if (!declared.type().has_tensor_type()) return;
  const auto& tensor_type = declared.type().tensor_type();
  if (tensor_type.elem_type() != onnx::TensorProto::UNDEFINED) {
    const auto expected = scalar_type_from_onnx(tensor_type.elem_type());
    if (actual.scalar_type() != expected) {
      fail(std::string("has type ") + c10::toString(actual.scalar_type()) + ", the model expects " +
           c10::toString(expected));
    }
  }
  if (!tensor_type.has_shape()) return;
  const auto& dims = tensor_type.shape().dim();
  bool matches = dims.size() == actual.dim();
  for (int d = 0; matches && d < dims.size(); ++d) {
    matches = !dims[d].has_dim_value() || dims[d].dim_value() == actual.size(d);
  }
  if (!matches) {
    std::string expected = "[";
    for (int d = 0; d < dims.size(); ++d) {
      const auto& dim = dims[d];
      const std::string symbolic = dim.dim_param().empty() ? "?" : dim.dim_param();
      expected += (d > 0 ? ", " : "") + (dim.has_dim_value() ? std::to_string(dim.dim_value()) : symbolic);
    }
    fail("has shape " + c10::str(actual.sizes()) + ", the model expects " + expected + "]");
  }
}

}  // namespace

ReferenceEvaluator::ReferenceEvaluator(const std::string& model_path)
    : ReferenceEvaluator(load_onnx_model(model_path), model_path) {}

ReferenceEvaluator::ReferenceEvaluator(onnx::ModelProto model, const std::string& model_path)
    : model_(std::make_unique<onnx::ModelProto>(std::move(model))), registry_(default_operator_registry()) {
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
  for (auto& initializer : *model_->mutable_graph()->mutable_initializer()) {
    try {
      initializers_[initializer.name()] = take_tensor_from_proto(initializer);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("'" + model_path + "': initializer " + e.what());
    }
  }
  // Before IR version 4 initializers were also listed as graph inputs; those are not run() inputs.
  for (int i = 0; i < graph.input_size(); ++i) {
    if (initializers_.count(graph.input(i).name()) != 0) continue;
    input_names_.push_back(graph.input(i).name());
    input_indices_.push_back(i);
  }
  // Intermediate values are released after their last reader; graph outputs are kept.
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& name : graph.node(i).input()) last_reader_[name] = i;
  }
  for (const auto& output : graph.output()) last_reader_[output.name()] = graph.node_size();
}

ReferenceEvaluator::~ReferenceEvaluator() = default;

std::vector<torch::Tensor> ReferenceEvaluator::run(const std::vector<torch::Tensor>& inputs) { return run(inputs, {}); }

std::vector<torch::Tensor> ReferenceEvaluator::run(const std::vector<torch::Tensor>& inputs,
                                                   const ValueObserver& observe) {
  if (inputs.size() != input_names_.size()) {
    throw std::runtime_error("reference evaluator: model expects " + std::to_string(input_names_.size()) +
                             " inputs, got " + std::to_string(inputs.size()));
  }
  torch::NoGradGuard no_grad;
  const auto& graph = model_->graph();
  std::map<std::string, torch::Tensor> values = initializers_;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_input(graph.input(input_indices_[i]), inputs[i]);
    values[input_names_[i]] = inputs[i];
  }

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
    std::vector<torch::Tensor> outputs;
    try {
      outputs = (*registry_.find(node.op_type()))(context);
    } catch (const c10::Error& e) {
      // Kernel errors (shape mismatches, unsupported dtypes) need the node to be actionable.
      context.fail(e.what_without_backtrace());
    }
    for (int o = 0; o < node.output_size(); ++o) {
      if (node.output(o).empty()) continue;
      if (static_cast<size_t>(o) >= outputs.size()) context.fail("output #" + std::to_string(o) + " is not produced");
      if (observe) observe(node.output(o), outputs[o]);
      values[node.output(o)] = std::move(outputs[o]);
    }
    for (const auto& name : node.input()) {
      const auto last = last_reader_.find(name);
      if (last != last_reader_.end() && last->second == i) values.erase(name);
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
