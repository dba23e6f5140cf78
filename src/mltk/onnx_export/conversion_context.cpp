#include "mltk/onnx_export/conversion_context.h"

#include "mltk/onnx_export/tensor_proto.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

void set_attribute(onnx::NodeProto& node, const Attribute& attribute) {
  auto* proto = node.add_attribute();
  proto->set_name(attribute.name);
  std::visit(
      [proto](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          proto->set_type(onnx::AttributeProto::INT);
          proto->set_i(value);
        } else if constexpr (std::is_same_v<T, float>) {
          proto->set_type(onnx::AttributeProto::FLOAT);
          proto->set_f(value);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          proto->set_type(onnx::AttributeProto::INTS);
          for (const auto item : value) proto->add_ints(item);
        } else {
          proto->set_type(onnx::AttributeProto::STRING);
          proto->set_s(value);
        }
      },
      attribute.value);
}

c10::TensorTypePtr tensor_type(const torch::jit::Value* value) {
  auto type = value->type()->cast<c10::TensorType>();
  if (!type) throw std::invalid_argument("value %" + value->debugName() + " is not a tensor");
  return type;
}

}  // namespace

void ConversionContext::bind_tensor(const torch::jit::Value* value, const std::string& onnx_name) {
  tensors_[value] = onnx_name;
}

void ConversionContext::bind_static(const torch::jit::Value* value, c10::IValue constant) {
  statics_[value] = std::move(constant);
}

void ConversionContext::bind_sequence(const torch::jit::Value* value, std::vector<const torch::jit::Value*> elements) {
  sequences_[value] = std::move(elements);
}

void ConversionContext::bind_tensor_list(const torch::jit::Value* value, std::vector<std::string> onnx_names) {
  tensor_lists_[value] = std::move(onnx_names);
}

void ConversionContext::bind_alias(const torch::jit::Value* value, const torch::jit::Value* target) {
  if (auto it = statics_.find(target); it != statics_.end()) statics_[value] = it->second;
  if (auto it = tensors_.find(target); it != tensors_.end()) tensors_[value] = it->second;
  if (auto it = sequences_.find(target); it != sequences_.end()) sequences_[value] = it->second;
  if (auto it = tensor_lists_.find(target); it != tensor_lists_.end()) tensor_lists_[value] = it->second;
}

const c10::IValue& ConversionContext::static_value(const torch::jit::Value* value) const {
  auto it = statics_.find(value);
  if (it == statics_.end())
    throw std::invalid_argument("value %" + value->debugName() + " is computed at run time where " +
                                std::string(node_->kind().toQualString()) + " needs a constant");
  return it->second;
}

const std::vector<const torch::jit::Value*>& ConversionContext::sequence(const torch::jit::Value* value) const {
  auto it = sequences_.find(value);
  if (it == sequences_.end()) throw std::invalid_argument("value %" + value->debugName() + " is not a list of values");
  return it->second;
}

std::string ConversionContext::tensor(const torch::jit::Value* value) {
  if (auto name = parameter_name(value)) last_parameter_ = *name;
  if (auto it = tensors_.find(value); it != tensors_.end()) return it->second;
  if (auto it = statics_.find(value); it != statics_.end()) {
    const auto& stored = it->second;
    std::string name;
    if (stored.isTensor())
      name = constant(stored.toTensor());
    else if (stored.isInt())
      name = scalar(static_cast<double>(stored.toInt()), at::kLong);
    else if (stored.isDouble())
      name = scalar(stored.toDouble(), at::kFloat);
    else
      throw std::invalid_argument("constant of type " + stored.type()->str() + " cannot be used as a tensor");
    tensors_[value] = name;
    return name;
  }
  throw std::logic_error("value %" + value->debugName() + " was used before it was converted");
}

std::string ConversionContext::input_like(size_t index, size_t like) {
  const auto* value = node_->input(index);
  if (auto it = statics_.find(value); it != statics_.end()) {
    const auto& stored = it->second;
    if (stored.isInt() || stored.isDouble()) return scalar(stored.toScalar().toDouble(), scalar_type(like));
    // A 0-d tensor does not promote a dimensioned tensor of the same kind either (float32 * a
    // float64 0-d tensor is float32), and an integer one takes a floating tensor's type (float32 *
    // an int64 0-d tensor is float32), whereas ONNX requires equal input types.
    if (stored.isTensor() && stored.toTensor().dim() == 0 &&
        (c10::isFloatingType(scalar_type(like)) || !c10::isFloatingType(stored.toTensor().scalar_type())))
      return constant(stored.toTensor().to(scalar_type(like)));
  }
  return input(index);
}

std::string ConversionContext::input_promoted(size_t index) {
  const auto type = output_type();
  const auto name = input(index);
  if (!type || *type == scalar_type(index)) return name;
  return op("Cast", {name}, {{"to", int64_t{onnx_data_type(*type)}}});
}

std::optional<at::ScalarType> ConversionContext::output_type() const {
  const auto type = node_->output(0)->type()->cast<c10::TensorType>();
  if (!type || !type->scalarType()) return std::nullopt;
  return *type->scalarType();
}

std::vector<std::string> ConversionContext::input_list(size_t index) {
  const auto* value = node_->input(index);
  if (auto it = tensor_lists_.find(value); it != tensor_lists_.end()) return it->second;
  std::vector<std::string> names;
  for (const auto* element : sequence(value)) names.push_back(tensor(element));
  return names;
}

bool ConversionContext::is_none(size_t index) const {
  const auto* value = node_->input(index);
  auto it = statics_.find(value);
  return it != statics_.end() && it->second.isNone();
}

std::string ConversionContext::unsupported_argument(size_t index, const std::string& expected) const {
  return std::string(node_->kind().toQualString()) + ": argument " + std::to_string(index) + " must be " + expected;
}

int64_t ConversionContext::int_arg(size_t index) const {
  const auto& value = static_value(node_->input(index));
  if (!value.isInt()) throw std::invalid_argument(unsupported_argument(index, "a constant integer"));
  return value.toInt();
}

double ConversionContext::double_arg(size_t index) const {
  const auto& value = static_value(node_->input(index));
  if (!value.isDouble() && !value.isInt()) throw std::invalid_argument(unsupported_argument(index, "a constant number"));
  return value.toScalar().toDouble();
}

bool ConversionContext::bool_arg(size_t index) const {
  const auto& value = static_value(node_->input(index));
  if (!value.isBool()) throw std::invalid_argument(unsupported_argument(index, "a constant boolean"));
  return value.toBool();
}

std::string ConversionContext::string_arg(size_t index) const {
  const auto& value = static_value(node_->input(index));
  if (!value.isString()) throw std::invalid_argument(unsupported_argument(index, "a constant string"));
  return value.toStringRef();
}

std::vector<int64_t> ConversionContext::ints_arg(size_t index) const {
  const auto& value = static_value(node_->input(index));
  if (value.isInt()) return {value.toInt()};
  if (!value.isIntList()) throw std::invalid_argument(unsupported_argument(index, "a constant list of integers"));
  return value.toIntVector();
}

int64_t ConversionContext::rank(size_t index) const {
  auto rank = tensor_type(node_->input(index))->dim();
  if (!rank) throw std::invalid_argument(unsupported_argument(index, "a tensor of known rank"));
  return static_cast<int64_t>(*rank);
}

std::vector<int64_t> ConversionContext::sizes(size_t index) const {
  auto sizes = tensor_type(node_->input(index))->sizes().concrete_sizes();
  if (!sizes) throw std::invalid_argument(unsupported_argument(index, "a tensor of known shape"));
  return *sizes;
}

at::ScalarType ConversionContext::scalar_type(size_t index) const {
  const auto* value = node_->input(index);
  if (auto it = statics_.find(value); it != statics_.end() && it->second.isTensor())
    return it->second.toTensor().scalar_type();
  return tensor_type(value)->scalarType().value_or(at::kFloat);
}

int64_t ConversionContext::dim_arg(size_t index, size_t tensor_index) const {
  const auto dim = int_arg(index);
  return dim < 0 ? dim + rank(tensor_index) : dim;
}

std::string ConversionContext::fresh_name(const std::string& hint) {
  const int count = name_counts_[hint]++;
  return count == 0 ? hint : hint + "_" + std::to_string(count);
}

std::string ConversionContext::op(const std::string& type, const std::vector<std::string>& inputs,
                                  const std::vector<Attribute>& attributes) {
  return op_node(type, inputs, attributes, 1)->output(0);
}

onnx::NodeProto* ConversionContext::op_node(const std::string& type, const std::vector<std::string>& inputs,
                                            const std::vector<Attribute>& attributes, size_t output_count) {
  auto* node = graph_.add_node();
  node->set_op_type(type);
  node->set_name(fresh_name(type));
  for (const auto& input : inputs) node->add_input(input);
  for (size_t i = 0; i < output_count; ++i) node->add_output(fresh_name(node->name() + "_output"));
  for (const auto& attribute : attributes) set_attribute(*node, attribute);
  return node;
}

std::string ConversionContext::constant(const at::Tensor& value) {
  auto* node = graph_.add_node();
  node->set_op_type("Constant");
  node->set_name(fresh_name("Constant"));
  const auto output = fresh_name(node->name() + "_output");
  node->add_output(output);
  auto* attribute = node->add_attribute();
  attribute->set_name("value");
  attribute->set_type(onnx::AttributeProto::TENSOR);
  *attribute->mutable_t() = to_tensor_proto(value, "");
  return output;
}

void ConversionContext::add_initializer(const std::string& name, const at::Tensor& value) {
  add_deferred_initializer(graph_, initializer_data_, name, value);
}

std::vector<std::string> ConversionContext::split(const std::string& input, int64_t axis,
                                                 const std::vector<int64_t>& sizes) {
  // The sizes constant must precede the Split node: ONNX nodes are stored in topological order.
  const auto sizes_input = opset_ >= 13 ? int64s(sizes) : std::string();
  auto* node = graph_.add_node();
  node->set_op_type("Split");
  node->set_name(fresh_name("Split"));
  node->add_input(input);
  if (opset_ >= 13)
    node->add_input(sizes_input);
  else
    set_attribute(*node, {"split", sizes});
  set_attribute(*node, {"axis", axis});
  std::vector<std::string> outputs;
  for (size_t i = 0; i < sizes.size(); ++i) {
    outputs.push_back(fresh_name(node->name() + "_output"));
    node->add_output(outputs.back());
  }
  return outputs;
}

std::string ConversionContext::unsqueeze(const std::string& input, const std::vector<int64_t>& axes) {
  if (opset_ >= 13) return op("Unsqueeze", {input, int64s(axes)});
  return op("Unsqueeze", {input}, {{"axes", axes}});
}

std::string ConversionContext::squeeze(const std::string& input, const std::vector<int64_t>& axes) {
  if (opset_ >= 13) return op("Squeeze", {input, int64s(axes)});
  return op("Squeeze", {input}, {{"axes", axes}});
}

std::optional<std::string> ConversionContext::parameter_name(const torch::jit::Value* value) const {
  auto it = parameter_names_.find(value);
  if (it == parameter_names_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mltk::onnx_export
