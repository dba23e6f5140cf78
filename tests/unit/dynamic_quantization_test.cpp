// Dynamic int8 quantization: a graph with the two shapes a transformer's linear layers take after
// export (MatMul on a rank-3 input through a Transposed weight, Gemm on a matrix) rewritten into
// DynamicQuantizeLinear + MatMulInteger, run by the reference evaluator and by ONNX Runtime.
#include "mltk/onnx_export/dynamic_quantization.h"
#include "mltk/onnx_export/model_writer.h"
#include "mltk/onnx_export/tensor_proto.h"
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/reference_evaluator.h"
#include "mltk/validate/metrics.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

namespace {

using namespace mltk;

onnx::NodeProto node_of(const std::string& op_type, const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto node;
  node.set_op_type(op_type);
  node.set_name(output);
  for (const auto& input : inputs) node.add_input(input);
  node.add_output(output);
  return node;
}

// input [2, 5, 16] -> MatMul(Transpose(w1 [32, 16])) + b1 -> Relu -> Reshape [10, 32]
//   -> Gemm(w2 [8, 32], b2, transB) -> output [10, 8]
std::string write_two_layer_model(const std::string& path) {
  torch::manual_seed(3);
  onnx::GraphProto graph;
  graph.set_name("two_linear_layers");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::randn({32, 16}) * 0.25, "w1");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::randn({32}) * 0.1, "b1");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::randn({8, 32}) * 0.25, "w2");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::randn({8}) * 0.1, "b2");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::tensor({10, 32}, torch::kLong), "matrix_shape");
  auto transpose = node_of("Transpose", {"w1"}, "w1_t");
  auto* perm = transpose.add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  perm->add_ints(1);
  perm->add_ints(0);
  *graph.add_node() = transpose;
  *graph.add_node() = node_of("MatMul", {"input", "w1_t"}, "projected");
  *graph.add_node() = node_of("Add", {"projected", "b1"}, "biased");
  *graph.add_node() = node_of("Relu", {"biased"}, "hidden");
  *graph.add_node() = node_of("Reshape", {"hidden", "matrix_shape"}, "rows");
  auto gemm = node_of("Gemm", {"rows", "w2", "b2"}, "output");
  auto* trans_b = gemm.add_attribute();
  trans_b->set_name("transB");
  trans_b->set_type(onnx::AttributeProto::INT);
  trans_b->set_i(1);
  *graph.add_node() = gemm;
  onnx_export::declare_graph_io(graph, {{"input", {2, 5, 16}}}, {{"output", {10, 8}}});
  auto model = onnx_export::build_model(graph, 14, {});
  onnx_export::validate_model(model);
  onnx_export::write_model_atomically(model, path);
  return path;
}

int64_t count_nodes(const onnx::GraphProto& graph, const std::string& op_type) {
  return std::count_if(graph.node().begin(), graph.node().end(), [&](const auto& node) { return node.op_type() == op_type; });
}

TEST(QuantizationDynamic, RewritesBothLinearFormsAndRunsInBothRuntimes) {
  TempDir dir;
  const auto float_path = write_two_layer_model(dir.file("float.onnx"));
  const auto quantized_path = dir.file("dynamic.onnx");
  const auto report = onnx_export::quantize_dynamic(float_path, quantized_path, {});
  EXPECT_EQ(report.quantized_nodes, 2);
  EXPECT_LT(report.quantized_bytes, report.float_bytes);

  const auto graph = runtime::load_onnx_model(quantized_path).graph();
  EXPECT_EQ(count_nodes(graph, "DynamicQuantizeLinear"), 2);
  EXPECT_EQ(count_nodes(graph, "MatMulInteger"), 2);
  for (const auto* float_op : {"MatMul", "Gemm", "Transpose"}) EXPECT_EQ(count_nodes(graph, float_op), 0) << float_op;
  for (const auto& tensor : graph.initializer())
    EXPECT_TRUE(tensor.name() != "w1" && tensor.name() != "w2") << "the float weight " << tensor.name() << " is left";

  torch::manual_seed(29);
  const auto input = torch::randn({2, 5, 16});
  runtime::ReferenceEvaluator float_model(float_path), reference(quantized_path);
  const auto expected = float_model.run({input}).front();
  const auto ours = reference.run({input}).front();
  const auto to_float = validate::compare(expected, ours);
  ASSERT_TRUE(to_float.metrics) << to_float.failure;
  EXPECT_GT(to_float.metrics->cosine_similarity, 0.999);
  EXPECT_GT(to_float.metrics->max_abs_diff, 0.0) << "the quantized file computed exactly the float result";

  MLTK_REQUIRE_ONNXRUNTIME();
  runtime::OnnxRuntimeNode onnxruntime(quantized_path);
  const auto theirs = onnxruntime.run({input}).front();
  // Both runtimes quantize the same activations the same way and accumulate exactly in int32; only
  // the float rescaling may round differently.
  EXPECT_LE((ours - theirs).abs().max().item<double>(), 1e-5 * std::max(1.0, theirs.abs().max().item<double>()))
      << ours << "\n" << theirs;
}

TEST(QuantizationDynamic, AModelWithoutMatrixProductsIsRefusedNamingTheStaticMode) {
  TempDir dir;
  onnx::GraphProto graph;
  graph.set_name("relu_only");
  *graph.add_node() = node_of("Relu", {"input"}, "output");
  onnx_export::declare_graph_io(graph, {{"input", {1, 4}}}, {{"output", {1, 4}}});
  auto model = onnx_export::build_model(graph, 14, {});
  onnx_export::write_model_atomically(model, dir.file("relu.onnx"));
  const auto message =
      testkit::message_of_throw([&] { onnx_export::quantize_dynamic(dir.file("relu.onnx"), dir.file("q.onnx"), {}); });
  EXPECT_NE(message.find("--quantize int8"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.file("q.onnx")));
}

}  // namespace
