#pragma once
// State of one aten -> ONNX conversion: which ONNX name (or which compile-time value) stands for
// each TorchScript value, and helpers the per-operator conversion functions use to read arguments
// and emit ONNX nodes. Conversion functions only see the node being converted.
#include "mltk/onnx_export/tensor_proto.h"

#include <onnx/onnx_pb.h>
#include <torch/csrc/jit/ir/ir.h>

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mltk::onnx_export {

struct Attribute {
  Attribute(std::string name, int64_t value) : name(std::move(name)), value(value) {}
  Attribute(std::string name, int value) : name(std::move(name)), value(int64_t{value}) {}
  Attribute(std::string name, double value) : name(std::move(name)), value(static_cast<float>(value)) {}
  Attribute(std::string name, std::vector<int64_t> value) : name(std::move(name)), value(std::move(value)) {}
  Attribute(std::string name, const char* value) : name(std::move(name)), value(std::string(value)) {}

  std::string name;
  std::variant<int64_t, float, std::vector<int64_t>, std::string> value;
};

class ConversionContext {
 public:
  // Initializers are declared in `graph` with their data in `initializer_data`.
  ConversionContext(onnx::GraphProto& graph, DeferredInitializers& initializer_data, int opset)
      : graph_(graph), initializer_data_(initializer_data), opset_(opset) {}

  int opset() const { return opset_; }
  const torch::jit::Node& node() const { return *node_; }
  void set_node(const torch::jit::Node* node) { node_ = node; }

  // --- Binding TorchScript values -------------------------------------------------------------
  void bind_tensor(const torch::jit::Value* value, const std::string& onnx_name);
  void bind_static(const torch::jit::Value* value, c10::IValue constant);
  // A value standing for a list/tuple of other values (prim::ListConstruct of runtime tensors).
  void bind_sequence(const torch::jit::Value* value, std::vector<const torch::jit::Value*> elements);
  // The output of a list-returning operator, one ONNX tensor per element.
  void bind_tensor_list(const torch::jit::Value* value, std::vector<std::string> onnx_names);
  void bind_alias(const torch::jit::Value* value, const torch::jit::Value* target);
  bool is_static(const torch::jit::Value* value) const { return statics_.count(value) > 0; }
  bool is_tensor_list(const torch::jit::Value* value) const { return tensor_lists_.count(value) > 0; }
  bool is_sequence(const torch::jit::Value* value) const { return sequences_.count(value) > 0; }
  const std::vector<std::string>& tensor_list(const torch::jit::Value* value) const { return tensor_lists_.at(value); }
  const c10::IValue& static_value(const torch::jit::Value* value) const;
  const std::vector<const torch::jit::Value*>& sequence(const torch::jit::Value* value) const;
  // ONNX name of a tensor value; a compile-time tensor or scalar becomes a Constant node.
  std::string tensor(const torch::jit::Value* value);

  // --- Arguments of the current node ------------------------------------------------------------
  std::string input(size_t index) { return tensor(node_->input(index)); }
  // A tensor input; a compile-time scalar (or 0-d tensor) becomes a constant of the dtype of input
  // `like`, as aten's type promotion keeps a tensor's dtype when combined with a Python scalar.
  std::string input_like(size_t index, size_t like);
  // Input `index` in the dtype the tracer recorded for the node's output, cast when it differs, as
  // aten promotes mixed operands (float + int64 -> float) where ONNX requires equal types.
  std::string input_promoted(size_t index);
  // The dtype the tracer recorded for the node's (first) output; nullopt when it recorded none.
  std::optional<at::ScalarType> output_type() const;
  std::vector<std::string> input_list(size_t index);
  bool is_none(size_t index) const;
  int64_t int_arg(size_t index) const;
  double double_arg(size_t index) const;
  bool bool_arg(size_t index) const;
  std::string string_arg(size_t index) const;
  std::vector<int64_t> ints_arg(size_t index) const;
  // Rank and static sizes recorded by the tracer for a tensor input.
  int64_t rank(size_t index) const;
  std::vector<int64_t> sizes(size_t index) const;
  at::ScalarType scalar_type(size_t index) const;
  // A possibly negative dimension index of input `index`, made non-negative.
  int64_t dim_arg(size_t index, size_t tensor_index) const;

  // --- Emitting ONNX ------------------------------------------------------------------------------
  std::string op(const std::string& type, const std::vector<std::string>& inputs,
                 const std::vector<Attribute>& attributes = {});
  // A node with `output_count` outputs (TopK, ...); its output names are read from the node.
  onnx::NodeProto* op_node(const std::string& type, const std::vector<std::string>& inputs,
                           const std::vector<Attribute>& attributes, size_t output_count);
  std::string constant(const at::Tensor& value);
  std::string int64s(const std::vector<int64_t>& values) { return constant(torch::tensor(values, torch::kLong)); }
  std::string scalar(double value, at::ScalarType type) { return constant(torch::scalar_tensor(value, type)); }
  void add_initializer(const std::string& name, const at::Tensor& value);

  // Split takes the part sizes as an attribute before opset 13 and as an input from 13 on.
  std::vector<std::string> split(const std::string& input, int64_t axis, const std::vector<int64_t>& sizes);
  // Unsqueeze/Squeeze take their axes as an attribute before opset 13 and as an input from 13 on.
  std::string unsqueeze(const std::string& input, const std::vector<int64_t>& axes);
  std::string squeeze(const std::string& input, const std::vector<int64_t>& axes);

  // Name of the last parameter a converted node read: the best "where" a C++ trace offers.
  const std::string& last_parameter() const { return last_parameter_; }
  void set_parameter_names(std::map<const torch::jit::Value*, std::string> names) { parameter_names_ = std::move(names); }

 private:
  std::optional<std::string> parameter_name(const torch::jit::Value* value) const;
  std::string fresh_name(const std::string& hint);
  std::string unsupported_argument(size_t index, const std::string& expected) const;

  onnx::GraphProto& graph_;
  DeferredInitializers& initializer_data_;
  int opset_;
  const torch::jit::Node* node_ = nullptr;
  std::map<const torch::jit::Value*, std::string> tensors_;
  std::map<const torch::jit::Value*, c10::IValue> statics_;
  std::map<const torch::jit::Value*, std::vector<const torch::jit::Value*>> sequences_;
  std::map<const torch::jit::Value*, std::vector<std::string>> tensor_lists_;
  std::map<const torch::jit::Value*, std::string> parameter_names_;
  std::map<std::string, int> name_counts_;
  std::string last_parameter_;
};

}  // namespace mltk::onnx_export
