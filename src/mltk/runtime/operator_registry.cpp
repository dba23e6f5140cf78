#include "mltk/runtime/operator_registry.h"

#include "mltk/runtime/onnx_model_loader.h"

#include <torch/torch.h>

#include <stdexcept>

namespace mltk::runtime {

OpContext::OpContext(const onnx::NodeProto& node, std::vector<torch::Tensor> inputs, int64_t opset)
    : node_(node), inputs_(std::move(inputs)), opset_(opset) {}

std::string OpContext::describe() const {
  // Exporters often leave nodes unnamed; the first output name identifies them just as well.
  const std::string& label = node_.name().empty() && node_.output_size() > 0 ? node_.output(0) : node_.name();
  return node_.op_type() + " node '" + label + "'";
}

void OpContext::fail(const std::string& message) const { throw std::runtime_error(describe() + ": " + message); }

bool OpContext::has_input(size_t index) const { return index < inputs_.size() && inputs_[index].defined(); }

const torch::Tensor& OpContext::input(size_t index) const {
  if (!has_input(index)) fail("required input #" + std::to_string(index) + " is missing");
  return inputs_[index];
}

std::vector<int64_t> OpContext::input_ints(size_t index) const {
  const auto values = input(index).to(torch::kLong).contiguous().view(-1);
  return {values.data_ptr<int64_t>(), values.data_ptr<int64_t>() + values.numel()};
}

size_t OpContext::output_count() const { return static_cast<size_t>(node_.output_size()); }

bool OpContext::wants_output(size_t index) const {
  return index < output_count() && !node_.output(static_cast<int>(index)).empty();
}

const onnx::AttributeProto* OpContext::find_attribute(const std::string& name,
                                                      onnx::AttributeProto::AttributeType type) const {
  for (const auto& attribute : node_.attribute()) {
    if (attribute.name() != name) continue;
    if (attribute.type() != type) {
      fail("attribute '" + name + "' has type " + onnx::AttributeProto::AttributeType_Name(attribute.type()) +
           ", expected " + onnx::AttributeProto::AttributeType_Name(type));
    }
    return &attribute;
  }
  return nullptr;
}

bool OpContext::has_attribute(const std::string& name) const {
  for (const auto& attribute : node_.attribute()) {
    if (attribute.name() == name) return true;
  }
  return false;
}

int64_t OpContext::attr_int(const std::string& name, int64_t fallback) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::INT);
  return attribute ? attribute->i() : fallback;
}

float OpContext::attr_float(const std::string& name, float fallback) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::FLOAT);
  return attribute ? attribute->f() : fallback;
}

std::string OpContext::attr_string(const std::string& name, const std::string& fallback) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::STRING);
  return attribute ? attribute->s() : fallback;
}

std::vector<int64_t> OpContext::attr_ints(const std::string& name, const std::vector<int64_t>& fallback) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::INTS);
  if (!attribute) return fallback;
  return {attribute->ints().begin(), attribute->ints().end()};
}

std::vector<float> OpContext::attr_floats(const std::string& name) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::FLOATS);
  if (!attribute) fail("missing attribute '" + name + "'");
  return {attribute->floats().begin(), attribute->floats().end()};
}

std::vector<std::string> OpContext::attr_strings(const std::string& name,
                                                const std::vector<std::string>& fallback) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::STRINGS);
  if (!attribute) return fallback;
  return {attribute->strings().begin(), attribute->strings().end()};
}

torch::Tensor OpContext::attr_tensor(const std::string& name) const {
  const auto* attribute = find_attribute(name, onnx::AttributeProto::TENSOR);
  if (!attribute) fail("missing attribute '" + name + "'");
  return tensor_from_proto(attribute->t());
}

void OperatorRegistry::add(const std::string& op_type, OpFunction function) {
  if (!functions_.emplace(op_type, std::move(function)).second) {
    throw std::logic_error("operator '" + op_type + "' registered twice");
  }
}

const OpFunction* OperatorRegistry::find(const std::string& op_type) const {
  const auto it = functions_.find(op_type);
  return it == functions_.end() ? nullptr : &it->second;
}

std::vector<std::string> OperatorRegistry::op_types() const {
  std::vector<std::string> names;
  for (const auto& entry : functions_) names.push_back(entry.first);
  return names;
}

const OperatorRegistry& default_operator_registry() {
  static const OperatorRegistry registry = [] {
    OperatorRegistry r;
    register_elementwise_ops(r);
    register_activation_ops(r);
    register_conv_pool_ops(r);
    register_normalization_ops(r);
    register_matmul_ops(r);
    register_shape_ops(r);
    register_reduce_ops(r);
    register_constant_ops(r);
    register_quantize_ops(r);
    register_resize_ops(r);
    register_recurrent_ops(r);
    return r;
  }();
  return registry;
}

int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

}  // namespace mltk::runtime
