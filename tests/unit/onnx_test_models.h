#pragma once
// Builds small ONNX models in memory for evaluator tests, so each test states exactly the
// node, opset and attributes it exercises.
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/reference_evaluator.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace mltk::testing {

// Writes bytes to a file in gtest's temporary directory and returns its path.
inline std::string write_temp_file(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// A graph with one node. Node inputs that are not initializers become graph inputs in order;
// empty names stay omitted optional inputs.
class SingleNodeModel {
 public:
  SingleNodeModel(const std::string& op_type, int64_t opset, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs = {"y"}) {
    model_.set_ir_version(8);
    auto* import = model_.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    auto* node = model_.mutable_graph()->add_node();
    node->set_op_type(op_type);
    node->set_name(op_type + "_under_test");
    for (const auto& name : inputs) node->add_input(name);
    for (const auto& name : outputs) {
      node->add_output(name);
      if (!name.empty()) model_.mutable_graph()->add_output()->set_name(name);
    }
  }

  SingleNodeModel& initializer(const std::string& name, const torch::Tensor& value) {
    *model_.mutable_graph()->add_initializer() = runtime::tensor_to_proto(value, name);
    return *this;
  }
  SingleNodeModel& attr(const std::string& name, int64_t value) {
    add_attribute(name, onnx::AttributeProto::INT)->set_i(value);
    return *this;
  }
  SingleNodeModel& attr(const std::string& name, float value) {
    add_attribute(name, onnx::AttributeProto::FLOAT)->set_f(value);
    return *this;
  }
  SingleNodeModel& attr(const std::string& name, const std::string& value) {
    add_attribute(name, onnx::AttributeProto::STRING)->set_s(value);
    return *this;
  }
  SingleNodeModel& attr(const std::string& name, const std::vector<int64_t>& values) {
    auto* a = add_attribute(name, onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
    return *this;
  }
  SingleNodeModel& attr(const std::string& name, const std::vector<float>& values) {
    auto* a = add_attribute(name, onnx::AttributeProto::FLOATS);
    for (float v : values) a->add_floats(v);
    return *this;
  }

  const onnx::ModelProto& proto() {
    finish_inputs();
    return model_;
  }

  // Saves the model (named after the running test) and evaluates it.
  std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto path = write_temp_file(std::string(info->test_suite_name()) + "." + info->name() + ".onnx",
                                      proto().SerializeAsString());
    return runtime::ReferenceEvaluator(path).run(inputs);
  }

 private:
  onnx::AttributeProto* add_attribute(const std::string& name, onnx::AttributeProto::AttributeType type) {
    auto* a = model_.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }

  void finish_inputs() {
    auto* graph = model_.mutable_graph();
    if (graph->input_size() > 0) return;
    for (const auto& name : graph->node(0).input()) {
      const bool is_initializer = std::any_of(graph->initializer().begin(), graph->initializer().end(),
                                              [&](const auto& t) { return t.name() == name; });
      if (!name.empty() && !is_initializer) graph->add_input()->set_name(name);
    }
  }

  onnx::ModelProto model_;
};

}  // namespace mltk::testing
