#include "mltk/onnx_export/qdq_rewrite.h"

#include "mltk/onnx_export/graph_editing.h"
#include "mltk/onnx_export/graph_passes.h"
#include "mltk/onnx_export/tensor_proto.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// The axis of the weight that indexes output channels, or -1 when the node cannot be quantized.
int64_t output_channel_axis(const onnx::NodeProto& node, const onnx::TensorProto& weight) {
  if (node.op_type() == "Conv") return 0;
  if (weight.dims_size() != 2) return -1;
  if (node.op_type() == "MatMul") return 1;
  if (node.op_type() != "Gemm" || int_attribute(node, "transA", 0) != 0 || float_attribute(node, "alpha", 1) != 1 ||
      float_attribute(node, "beta", 1) != 1)
    return -1;
  return int_attribute(node, "transB", 0) != 0 ? 0 : 1;
}

bool quantizable(const onnx::NodeProto& node, const std::map<std::string, const onnx::TensorProto*>& initializers) {
  if (node.op_type() != "Conv" && node.op_type() != "Gemm" && node.op_type() != "MatMul") return false;
  if (node.input_size() < 2 || initializers.count(node.input(0))) return false;
  const auto weight = initializers.find(node.input(1));
  if (weight == initializers.end() || weight->second->data_type() != onnx::TensorProto::FLOAT) return false;
  const int64_t axis = output_channel_axis(node, *weight->second);
  if (axis < 0) return false;
  if (node.input_size() < 3 || node.input(2).empty()) return true;
  const auto bias = initializers.find(node.input(2));
  return bias != initializers.end() && bias->second->dims_size() == 1 &&
         bias->second->dims(0) == weight->second->dims(static_cast<int>(axis));
}

// The value of a constant input: an initializer, or the output of a Constant node.
std::optional<at::Tensor> constant_input(const onnx::GraphProto& graph, const std::string& name,
                                         const std::map<std::string, const onnx::TensorProto*>& initializers) {
  if (const auto initializer = initializers.find(name); initializer != initializers.end())
    return from_tensor_proto(*initializer->second);
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant" || node.output_size() != 1 || node.output(0) != name) continue;
    const auto* value = find_attribute(node, "value");
    if (value != nullptr && value->has_t()) return from_tensor_proto(value->t());
  }
  return std::nullopt;
}

// Relu, or a Clip from 0 to a positive bound (ReLU6) or to nothing: an activation whose output a
// uint8 quantization with a zero point of 0 and a range within its bounds reproduces exactly, since
// quantizing saturates below 0 and above the range's top just as the activation clips.
bool clips_at_zero(const onnx::GraphProto& graph, const onnx::NodeProto& node,
                   const std::map<std::string, const onnx::TensorProto*>& initializers) {
  if (node.op_type() == "Relu") return true;
  if (node.op_type() != "Clip" || node.input_size() < 2 || node.input(1).empty()) return false;
  const auto low = constant_input(graph, node.input(1), initializers);
  if (!low || low->numel() != 1 || low->item<double>() != 0.0) return false;
  if (node.input_size() < 3 || node.input(2).empty()) return true;
  const auto high = constant_input(graph, node.input(2), initializers);
  return high && high->numel() == 1 && high->item<double>() > 0.0;
}

// Builds the rewritten node list: DequantizeLinear before each reader of a quantized tensor,
// QuantizeLinear after its producer, quantized weights and biases for the planned nodes.
class QdqWriter {
 public:
  QdqWriter(onnx::GraphProto& graph, const std::map<std::string, ActivationRange>& ranges,
            const std::vector<std::string>& activations)
      : graph_(graph) {
    for (const auto& name : activations) {
      const auto range = ranges.find(name);
      if (range == ranges.end()) throw std::invalid_argument("no calibrated range for tensor '" + name + "'");
      const auto quantization = uint8_quantization(range->second);
      params_[name] = quantization;
      add_initializer(graph_, name + "_scale", torch::full({}, quantization.scale, torch::kFloat));
      add_initializer(graph_, name + "_zero_point", torch::full({}, quantization.zero_point, torch::kByte));
    }
  }

  void quantize_graph_inputs() {
    for (const auto& input : graph_.input()) quantize_output(input.name());
  }

  // Reads of quantized tensors go through a DequantizeLinear of their own.
  void dequantize_inputs(onnx::NodeProto& node) {
    for (auto& input : *node.mutable_input()) {
      if (!params_.count(input)) continue;
      const auto output = input + "_dequantized_" + std::to_string(++dequantized_reads_);
      nodes_.push_back(make_node("DequantizeLinear", {input + "_quantized", input + "_scale", input + "_zero_point"}, {output}));
      input = output;
    }
  }

  // Replaces the weight (and bias) of a quantized node by int8 (int32) initializers read through
  // DequantizeLinear; `input_name` is the node's float input before dequantize_inputs renamed it.
  void quantize_weights(onnx::NodeProto& node, const std::string& input_name,
                        const std::map<std::string, const onnx::TensorProto*>& initializers) {
    const auto& weight_proto = *initializers.at(node.input(1));
    const int64_t axis = output_channel_axis(node, weight_proto);
    const auto weights = quantize_weights_per_channel(from_tensor_proto(weight_proto), axis);
    const std::string weight = node.input(1);
    add_initializer(graph_, weight + "_quantized", weights.values);
    add_initializer(graph_, weight + "_scale", weights.scales);
    add_initializer(graph_, weight + "_zero_point", torch::zeros_like(weights.scales, torch::kChar));
    nodes_.push_back(make_node("DequantizeLinear", {weight + "_quantized", weight + "_scale", weight + "_zero_point"},
                               {weight + "_dequantized"}, {{"axis", axis}}));
    node.set_input(1, weight + "_dequantized");
    if (node.input_size() < 3 || node.input(2).empty()) return;
    const std::string bias = node.input(2);
    const auto quantized_bias =
        quantize_bias(from_tensor_proto(*initializers.at(bias)), params_.at(input_name).scale, weights.scales);
    add_initializer(graph_, bias + "_quantized", quantized_bias.values);
    add_initializer(graph_, bias + "_scale", quantized_bias.scales);
    nodes_.push_back(make_node("DequantizeLinear", {bias + "_quantized", bias + "_scale"}, {bias + "_dequantized"}, {{"axis", 0}}));
    node.set_input(2, bias + "_dequantized");
  }

  void add(onnx::NodeProto node) {
    nodes_.push_back(std::move(node));
    for (const auto& output : nodes_.back().output()) quantize_output(output);
  }

  void finish() {
    graph_.mutable_node()->Clear();
    for (auto& node : nodes_) graph_.add_node()->Swap(&node);
  }

 private:
  void quantize_output(const std::string& name) {
    if (params_.count(name))
      nodes_.push_back(make_node("QuantizeLinear", {name, name + "_scale", name + "_zero_point"}, {name + "_quantized"}));
  }

  onnx::GraphProto& graph_;
  std::map<std::string, Uint8Quantization> params_;
  std::vector<onnx::NodeProto> nodes_;
  int64_t dequantized_reads_ = 0;
};

}  // namespace

QdqPlan plan_qdq(const onnx::GraphProto& graph, const QdqOptions& options) {
  const auto initializers = initializers_by_name(graph);
  std::set<std::string> graph_outputs;
  for (const auto& output : graph.output()) graph_outputs.insert(output.name());
  std::map<std::string, std::vector<int>> readers;
  for (int i = 0; i < graph.node_size(); ++i)
    for (const auto& input : graph.node(i).input()) readers[input].push_back(i);

  QdqPlan plan;
  std::vector<std::string> activations;
  bool first_conv_seen = false;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    // A weight shared between nodes would need one quantized copy per reader's input scale.
    if (!quantizable(node, initializers) || readers[node.input(1)].size() != 1) continue;
    const bool first_conv = node.op_type() == "Conv" && !first_conv_seen;
    first_conv_seen = first_conv_seen || node.op_type() == "Conv";
    if (first_conv && options.keep_first_conv_float) continue;
    plan.quantized_nodes.push_back(i);
    activations.push_back(node.input(0));
    const auto& output = node.output(0);
    if (graph_outputs.count(output)) {
      plan.float_output_nodes.push_back(i);
      continue;
    }
    const auto& output_readers = readers[output];
    if (output_readers.size() == 1 && clips_at_zero(graph, graph.node(output_readers[0]), initializers) &&
        !graph_outputs.count(graph.node(output_readers[0]).output(0))) {
      plan.folded_activations[i] = output_readers[0];
      activations.push_back(graph.node(output_readers[0]).output(0));
    } else {
      activations.push_back(output);
    }
  }
  std::set<std::string> seen;
  for (const auto& name : activations)
    if (seen.insert(name).second) plan.activations.push_back(name);
  return plan;
}

QdqSummary insert_qdq(onnx::GraphProto& graph, const QdqPlan& plan, const std::map<std::string, ActivationRange>& ranges) {
  const onnx::GraphProto original = graph;
  const auto initializers = initializers_by_name(original);
  const std::set<int> quantized(plan.quantized_nodes.begin(), plan.quantized_nodes.end());
  std::set<int> dropped_relus;
  for (const auto& [node, relu] : plan.folded_activations) dropped_relus.insert(relu);

  QdqWriter writer(graph, ranges, plan.activations);
  writer.quantize_graph_inputs();
  for (int i = 0; i < original.node_size(); ++i) {
    if (dropped_relus.count(i)) continue;
    auto node = original.node(i);
    // A quantized node's weight needs the scale of its float input, which dequantize_inputs renames.
    const std::string float_input = quantized.count(i) ? node.input(0) : std::string();
    writer.dequantize_inputs(node);
    if (quantized.count(i)) writer.quantize_weights(node, float_input, initializers);
    if (const auto relu = plan.folded_activations.find(i); relu != plan.folded_activations.end())
      node.set_output(0, original.node(relu->second).output(0));
    writer.add(std::move(node));
  }
  writer.finish();
  graph.clear_value_info();
  remove_dead_nodes(graph);
  return {static_cast<int64_t>(plan.quantized_nodes.size()), static_cast<int64_t>(plan.folded_activations.size()),
          static_cast<int64_t>(plan.activations.size())};
}

}  // namespace mltk::onnx_export
