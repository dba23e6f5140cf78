#pragma once
// ONNX operator implementations for the reference evaluator, looked up by op_type.
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mltk::runtime {

// What an operator implementation sees of one node: its input values, attributes and the
// model's default-domain opset (operators changed semantics between opsets).
class OpContext {
 public:
  // `inputs` has one entry per node input; omitted optional inputs are undefined tensors.
  OpContext(const onnx::NodeProto& node, std::vector<torch::Tensor> inputs, int64_t opset);

  int64_t opset() const { return opset_; }
  const onnx::NodeProto& node() const { return node_; }

  bool has_input(size_t index) const;
  // Throws std::runtime_error naming the node when a required input is absent.
  const torch::Tensor& input(size_t index) const;
  // A 1-D integer input (shapes, axes, pads) as a vector.
  std::vector<int64_t> input_ints(size_t index) const;
  // Number of outputs listed on the node; an empty name marks an optional output not wanted.
  size_t output_count() const;
  bool wants_output(size_t index) const;

  bool has_attribute(const std::string& name) const;
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name, const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> attr_floats(const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& name, const std::vector<std::string>& fallback) const;
  torch::Tensor attr_tensor(const std::string& name) const;

  // Raises "<op_type> node '<name>': <message>" as std::runtime_error.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::string describe() const;
  const onnx::AttributeProto* find_attribute(const std::string& name, onnx::AttributeProto::AttributeType type) const;

  const onnx::NodeProto& node_;
  std::vector<torch::Tensor> inputs_;
  int64_t opset_;
};

using OpFunction = std::function<std::vector<torch::Tensor>(const OpContext&)>;

class OperatorRegistry {
 public:
  // Throws std::logic_error when op_type is registered twice (a wiring mistake).
  void add(const std::string& op_type, OpFunction function);
  // nullptr when the operator is not implemented.
  const OpFunction* find(const std::string& op_type) const;
  std::vector<std::string> op_types() const;

 private:
  std::map<std::string, OpFunction> functions_;
};

// The registry with every operator below registered; built once on first use.
const OperatorRegistry& default_operator_registry();

// Wraps a possibly negative ONNX axis into [0, rank); throws naming the node when out of range.
int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank);

// Per-group registration, called only by default_operator_registry().
void register_elementwise_ops(OperatorRegistry& registry);
void register_activation_ops(OperatorRegistry& registry);
void register_conv_pool_ops(OperatorRegistry& registry);
void register_normalization_ops(OperatorRegistry& registry);
void register_matmul_ops(OperatorRegistry& registry);
void register_shape_ops(OperatorRegistry& registry);
void register_reduce_ops(OperatorRegistry& registry);
void register_constant_ops(OperatorRegistry& registry);
void register_quantize_ops(OperatorRegistry& registry);
void register_resize_ops(OperatorRegistry& registry);
void register_recurrent_ops(OperatorRegistry& registry);

}  // namespace mltk::runtime
