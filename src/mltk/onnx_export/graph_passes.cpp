#include "mltk/onnx_export/graph_passes.h"

#include "mltk/onnx_export/tensor_proto.h"

#include <torch/types.h>

#include <map>
#include <optional>
#include <set>

namespace mltk::onnx_export {
namespace {

bool is_graph_output(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& output : graph.output())
    if (output.name() == name) return true;
  return false;
}

// Keeps the nodes for which `keep(index)` holds, in order.
template <typename Keep>
void filter_nodes(onnx::GraphProto& graph, Keep keep) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph.node_size(); ++i)
    if (keep(i)) kept.Add()->Swap(graph.mutable_node(i));
  graph.mutable_node()->Swap(&kept);
}

void rename_uses(onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node())
    for (auto& input : *node.mutable_input())
      if (input == from) input = to;
}

// Initializers and Constant-node outputs by name: the values a fold may read.
class ConstantValues {
 public:
  ConstantValues(onnx::GraphProto& graph, const DeferredInitializers& deferred) : deferred_(&deferred) {
    for (auto& initializer : *graph.mutable_initializer()) initializers_[initializer.name()] = &initializer;
    for (const auto& node : graph.node())
      if (node.op_type() == "Constant" && node.attribute_size() == 1 && node.attribute(0).name() == "value")
        constants_[node.output(0)] = &node.attribute(0).t();
  }
  std::optional<at::Tensor> get(const std::string& name) const {
    if (auto it = initializers_.find(name); it != initializers_.end()) {
      if (auto data = deferred_->find(name); data != deferred_->end()) return data->second;
      return from_tensor_proto(*it->second);
    }
    if (auto it = constants_.find(name); it != constants_.end()) return from_tensor_proto(*it->second);
    return std::nullopt;
  }
  onnx::TensorProto* initializer(const std::string& name) const {
    auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : it->second;
  }

 private:
  const DeferredInitializers* deferred_;
  std::map<std::string, onnx::TensorProto*> initializers_;
  std::map<std::string, const onnx::TensorProto*> constants_;
};

float epsilon_of(const onnx::NodeProto& node) {
  for (const auto& attribute : node.attribute())
    if (attribute.name() == "epsilon") return attribute.f();
  return 1e-5f;  // the ONNX default
}

void replace_initializer(onnx::TensorProto& initializer, DeferredInitializers& deferred, const at::Tensor& value) {
  initializer = tensor_proto_without_data(value, initializer.name());
  deferred.insert_or_assign(initializer.name(), raw_data_tensor(value));
}

std::string unique_initializer_name(const ConstantValues& values, std::string name) {
  while (values.initializer(name)) name += "_folded";
  return name;
}

}  // namespace

int fold_batch_norm_into_conv(onnx::GraphProto& graph, DeferredInitializers& initializer_data) {
  std::map<std::string, int> producer, uses;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& output : graph.node(i).output()) producer[output] = i;
    for (const auto& input : graph.node(i).input()) ++uses[input];
  }
  ConstantValues values(graph, initializer_data);
  std::set<int> folded;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& norm = graph.node(i);
    if (norm.op_type() != "BatchNormalization" || norm.output_size() != 1) continue;
    const auto& conv_output = norm.input(0);
    auto found = producer.find(conv_output);
    if (found == producer.end() || uses[conv_output] != 1 || is_graph_output(graph, conv_output)) continue;
    auto& conv = *graph.mutable_node(found->second);
    if (conv.op_type() != "Conv" || uses[conv.input(1)] != 1) continue;
    auto* weight_proto = values.initializer(conv.input(1));
    auto gamma = values.get(norm.input(1)), beta = values.get(norm.input(2));
    auto mean = values.get(norm.input(3)), var = values.get(norm.input(4));
    if (!weight_proto || !gamma || !beta || !mean || !var) continue;
    onnx::TensorProto* bias_proto = nullptr;
    if (conv.input_size() > 2) {
      bias_proto = values.initializer(conv.input(2));
      if (!bias_proto || uses[conv.input(2)] != 1) continue;
    }

    // The per-channel factors and the bias are computed in double precision; the weights, by far the
    // largest tensor, are multiplied in their own type by the rounded factor, which adds at most one
    // float rounding per weight (about 1e-7 relative) and avoids two full-size double copies.
    const auto weight = *values.get(conv.input(1));
    const auto scale = gamma->to(at::kDouble) / (var->to(at::kDouble) + epsilon_of(norm)).sqrt();
    std::vector<int64_t> broadcast(weight.dim(), 1);
    broadcast[0] = -1;
    const auto bias = bias_proto ? values.get(conv.input(2))->to(at::kDouble) : at::zeros_like(scale);
    const auto new_weight = weight * scale.to(weight.scalar_type()).reshape(broadcast);
    const auto new_bias = ((bias - mean->to(at::kDouble)) * scale + beta->to(at::kDouble)).to(weight.scalar_type());

    replace_initializer(*weight_proto, initializer_data, new_weight);
    if (bias_proto) {
      replace_initializer(*bias_proto, initializer_data, new_bias);
    } else {
      const auto& weight_name = conv.input(1);
      const std::string suffix = ".weight";
      const bool dotted = weight_name.size() > suffix.size() &&
                          weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0;
      const auto bias_name = unique_initializer_name(
          values, dotted ? weight_name.substr(0, weight_name.size() - suffix.size()) + ".bias" : weight_name + "_bias");
      add_deferred_initializer(graph, initializer_data, bias_name, new_bias);
      conv.add_input(bias_name);
      values = ConstantValues(graph, initializer_data);  // later folds must see the new name to stay unique
    }
    conv.set_output(0, norm.output(0));
    folded.insert(i);
  }
  filter_nodes(graph, [&](int index) { return folded.count(index) == 0; });
  return static_cast<int>(folded.size());
}

void remove_identities(onnx::GraphProto& graph) {
  std::set<std::string> produced;
  for (const auto& node : graph.node())
    for (const auto& output : node.output()) produced.insert(output);

  std::set<int> removed;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.op_type() != "Identity") continue;
    const auto input = node.input(0), output = node.output(0);
    if (!is_graph_output(graph, output)) {
      rename_uses(graph, output, input);
    } else if (produced.count(input) && !is_graph_output(graph, input)) {
      // The graph output keeps its name: the producer writes it directly.
      for (auto& producer : *graph.mutable_node())
        for (auto& name : *producer.mutable_output())
          if (name == input) name = output;
      rename_uses(graph, input, output);
    } else {
      continue;  // a graph input or initializer passed straight to the output needs the Identity
    }
    removed.insert(i);
  }
  filter_nodes(graph, [&](int index) { return removed.count(index) == 0; });
}

void remove_dead_nodes(onnx::GraphProto& graph) {
  std::set<std::string> live;
  for (const auto& output : graph.output()) live.insert(output.name());
  std::vector<bool> keep(graph.node_size(), false);
  for (int i = graph.node_size() - 1; i >= 0; --i) {
    const auto& node = graph.node(i);
    for (const auto& output : node.output()) keep[i] = keep[i] || live.count(output) > 0;
    if (keep[i]) live.insert(node.input().begin(), node.input().end());
  }
  filter_nodes(graph, [&](int index) { return keep[index]; });

  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  for (auto& initializer : *graph.mutable_initializer())
    if (live.count(initializer.name())) initializers.Add()->Swap(&initializer);
  graph.mutable_initializer()->Swap(&initializers);
}

}  // namespace mltk::onnx_export
