#include "mltk/onnx_export/dynamic_quantization.h"

#include "mltk/onnx_export/graph_editing.h"
#include "mltk/onnx_export/graph_passes.h"
#include "mltk/onnx_export/model_edits.h"
#include "mltk/onnx_export/quantization_params.h"
#include "mltk/onnx_export/tensor_proto.h"
#include "mltk/runtime/onnx_model_loader.h"

#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// A node to rewrite: its weight as [K, N] (input features by output columns) and its bias.
struct DynamicCandidate {
  at::Tensor weight;  // float [K, N]
  std::string weight_name;
  std::string bias;  // empty without one
};

std::map<std::string, int> reader_counts(const onnx::GraphProto& graph) {
  std::map<std::string, int> readers;
  for (const auto& node : graph.node())
    for (const auto& input : node.input()) ++readers[input];
  return readers;
}

const onnx::TensorProto* float_matrix(const std::map<std::string, const onnx::TensorProto*>& initializers,
                                      const std::string& name) {
  const auto found = initializers.find(name);
  if (found == initializers.end()) return nullptr;
  const auto& tensor = *found->second;
  return tensor.data_type() == onnx::TensorProto::FLOAT && tensor.dims_size() == 2 ? &tensor : nullptr;
}

// The weight of a MatMul as [K, N]: an initializer read as it is, or one read through a Transpose
// (how a linear layer on a rank-3 input is exported) that nothing else reads.
std::optional<DynamicCandidate> matmul_candidate(const onnx::NodeProto& node,
                                                 const std::map<std::string, const onnx::TensorProto*>& initializers,
                                                 const std::map<std::string, const onnx::NodeProto*>& producers,
                                                 const std::map<std::string, int>& readers) {
  if (readers.at(node.input(1)) != 1) return std::nullopt;
  if (const auto* weight = float_matrix(initializers, node.input(1)))
    return DynamicCandidate{from_tensor_proto(*weight), weight->name(), ""};
  const auto producer = producers.find(node.input(1));
  if (producer == producers.end() || producer->second->op_type() != "Transpose") return std::nullopt;
  const auto* transpose = producer->second;
  const auto* perm = find_attribute(*transpose, "perm");
  if (perm != nullptr && (perm->ints_size() != 2 || perm->ints(0) != 1 || perm->ints(1) != 0)) return std::nullopt;
  const auto* weight = float_matrix(initializers, transpose->input(0));
  if (weight == nullptr || readers.at(weight->name()) != 1) return std::nullopt;
  return DynamicCandidate{from_tensor_proto(*weight).t().contiguous(), weight->name(), ""};
}

std::optional<DynamicCandidate> gemm_candidate(const onnx::NodeProto& node,
                                               const std::map<std::string, const onnx::TensorProto*>& initializers,
                                               const std::map<std::string, int>& readers) {
  if (int_attribute(node, "transA", 0) != 0 || float_attribute(node, "alpha", 1) != 1 ||
      float_attribute(node, "beta", 1) != 1 || readers.at(node.input(1)) != 1)
    return std::nullopt;
  const auto* weight = float_matrix(initializers, node.input(1));
  if (weight == nullptr) return std::nullopt;
  auto matrix = from_tensor_proto(*weight);
  if (int_attribute(node, "transB", 0) != 0) matrix = matrix.t().contiguous();
  DynamicCandidate candidate{matrix, weight->name(), ""};
  if (node.input_size() < 3 || node.input(2).empty()) return candidate;
  // Only a bias of one value per output column becomes a plain Add after the rescaling.
  const auto bias = initializers.find(node.input(2));
  if (bias == initializers.end() || bias->second->dims_size() != 1 || bias->second->dims(0) != matrix.size(1))
    return std::nullopt;
  candidate.bias = node.input(2);
  return candidate;
}

}  // namespace

int64_t insert_dynamic_quantization(onnx::GraphProto& graph) {
  const onnx::GraphProto original = graph;
  const auto initializers = initializers_by_name(original);
  const auto readers = reader_counts(original);
  std::map<std::string, const onnx::NodeProto*> producers;
  for (const auto& node : original.node())
    for (const auto& output : node.output()) producers[output] = &node;

  std::vector<onnx::NodeProto> nodes;
  std::set<std::string> quantized_inputs;  // activations that already have their DynamicQuantizeLinear
  int64_t rewritten = 0;
  for (const auto& node : original.node()) {
    std::optional<DynamicCandidate> candidate;
    if (node.input_size() >= 2 && !initializers.count(node.input(0))) {
      if (node.op_type() == "MatMul") candidate = matmul_candidate(node, initializers, producers, readers);
      if (node.op_type() == "Gemm") candidate = gemm_candidate(node, initializers, readers);
    }
    if (!candidate) {
      nodes.push_back(node);
      continue;
    }
    const std::string& x = node.input(0);
    const std::string& y = node.output(0);
    if (quantized_inputs.insert(x).second)
      nodes.push_back(make_node("DynamicQuantizeLinear", {x}, {x + "_quantized", x + "_scale", x + "_zero_point"}));
    const auto weights = quantize_weights_per_channel(candidate->weight, 1);
    const std::string& w = candidate->weight_name;
    add_initializer(graph, w + "_quantized", weights.values);
    add_initializer(graph, w + "_scale", weights.scales);
    nodes.push_back(make_node("MatMulInteger", {x + "_quantized", w + "_quantized", x + "_zero_point"}, {y + "_int32"}));
    nodes.push_back(make_node("Cast", {y + "_int32"}, {y + "_int32_float"}, {{"to", onnx::TensorProto::FLOAT}}));
    nodes.push_back(make_node("Mul", {x + "_scale", w + "_scale"}, {y + "_rescale"}));
    const std::string product = candidate->bias.empty() ? y : y + "_unbiased";
    nodes.push_back(make_node("Mul", {y + "_int32_float", y + "_rescale"}, {product}));
    if (!candidate->bias.empty()) nodes.push_back(make_node("Add", {product, candidate->bias}, {y}));
    ++rewritten;
  }
  graph.mutable_node()->Clear();
  for (auto& node : nodes) graph.add_node()->Swap(&node);
  graph.clear_value_info();
  remove_dead_nodes(graph);
  return rewritten;
}

DynamicQuantizationReport quantize_dynamic(const std::string& float_path, const std::string& output_path,
                                           const DynamicQuantizationOptions& options) {
  auto model = runtime::load_onnx_model(float_path);
  DynamicQuantizationReport report;
  report.quantized_nodes = insert_dynamic_quantization(*model.mutable_graph());
  if (report.quantized_nodes == 0)
    throw std::runtime_error(float_path + " has no Gemm or MatMul with a constant weight to quantize dynamically; "
                             "for convolutional networks use --quantize int8");
  report.quantized_bytes = write_rewritten_model(model, output_path, options.fixed_batch, options.metadata);
  report.float_bytes = static_cast<int64_t>(std::filesystem::file_size(float_path));
  return report;
}

}  // namespace mltk::onnx_export
