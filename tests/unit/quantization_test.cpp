// Static int8 quantization: calibration against numpy over the same activations, the QDQ file in
// the reference evaluator and in ONNX Runtime against the float model, and ml-export --quantize
// end to end on a model trained briefly on the hymenoptera photographs.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/calibration.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/onnx_export/model_writer.h"
#include "mltk/onnx_export/static_quantization.h"
#include "mltk/onnx_export/tensor_proto.h"
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/reference_evaluator.h"
#include "mltk/validate/agreement_verdict.h"
#include "mltk/validate/metrics.h"

#include "support/data_fixtures.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>
#include <tuple>

namespace {

using namespace mltk;
namespace fs = std::filesystem;

constexpr int64_t kSide = 32;

// simple_cnn with seeded random weights exported at 32x32 with a symbolic batch dimension.
std::string export_simple_cnn(const TempDir& dir) {
  torch::manual_seed(5);
  auto model = models::create_model({"simple_cnn", 3, kSide, std::nullopt});
  model->eval();
  onnx_export::ExportOptions options;
  options.input_shape = {3, kSide, kSide};
  options.dynamic_batch = true;
  const auto path = dir.file("float.onnx");
  onnx_export::export_to_onnx(*model, path, options);
  return path;
}

// Three seeded batches of eight images with pixel statistics like normalised photographs.
std::vector<torch::Tensor> calibration_images() {
  torch::manual_seed(17);
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(torch::randn({8, 3, kSide, kSide}));
  return batches;
}

onnx_export::CalibrationBatches batches_of(const std::vector<torch::Tensor>& images) {
  return [&images](const std::function<void(const at::Tensor&)>& each) {
    for (const auto& batch : images) each(batch);
  };
}

void write_raw_float(const std::string& path, const torch::Tensor& tensor) {
  const auto data = tensor.to(torch::kFloat).contiguous();
  std::ofstream(path, std::ios::binary).write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
}

at::Tensor initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& tensor : graph.initializer())
    if (tensor.name() == name) return onnx_export::from_tensor_proto(tensor);
  throw std::runtime_error("no initializer " + name);
}

TEST(QuantizationCalibration, RangesScalesAndZeroPointsMatchNumpyOverTheSameActivations) {
  MLTK_REQUIRE_ORACLE();
  TempDir dir;
  const auto path = export_simple_cnn(dir);
  const auto graph = runtime::load_onnx_model(path).graph();
  const auto plan = onnx_export::plan_qdq(graph, {});
  ASSERT_GE(plan.activations.size(), 2u);
  // The first convolution's output, after the ReLU folded into its quantization.
  const std::string activation = plan.activations[1];
  const auto& first_conv = graph.node(plan.quantized_nodes.front());
  ASSERT_EQ(first_conv.op_type(), "Conv");

  const auto images = calibration_images();
  const auto minmax = onnx_export::calibrate(path, plan.activations, batches_of(images), onnx_export::CalibrationMethod::MinMax);
  const auto percentile =
      onnx_export::calibrate(path, plan.activations, batches_of(images), onnx_export::CalibrationMethod::Percentile);

  std::vector<torch::Tensor> seen;
  runtime::ReferenceEvaluator evaluator(path);
  for (const auto& batch : images)
    evaluator.run({batch}, [&](const std::string& name, const torch::Tensor& value) {
      if (name == activation) seen.push_back(value.flatten());
    });
  ASSERT_EQ(seen.size(), images.size());
  write_raw_float(dir.file("activations.bin"), torch::cat(seen));
  const auto weight = initializer(graph, first_conv.input(1));
  write_raw_float(dir.file("weights.bin"), weight);
  const auto numpy = nlohmann::json::parse(testkit::run_oracle(
      "quantization_params.py", {dir.file("activations.bin"), std::to_string(onnx_export::kCalibrationPercentile),
                                 dir.file("weights.bin"), std::to_string(weight.size(0))}));

  const auto& range = minmax.at(activation);
  EXPECT_FLOAT_EQ(range.min, numpy["min"].get<float>());
  EXPECT_FLOAT_EQ(range.max, numpy["max"].get<float>());
  const auto quantization = onnx_export::uint8_quantization(range);
  EXPECT_FLOAT_EQ(quantization.scale, numpy["scale"].get<float>());
  EXPECT_EQ(quantization.zero_point, numpy["zero_point"].get<int>());

  // The histogram resolves a percentile to one bin: the clipped range encloses numpy's percentiles
  // by less than a bin width (plus float rounding of values on a bin edge).
  const double bin = (static_cast<double>(range.max) - range.min) / onnx_export::kCalibrationBins * 1.01;
  const auto& clipped = percentile.at(activation);
  const double low = numpy["percentile_low"], high = numpy["percentile_high"];
  EXPECT_LE(clipped.min, low + 1e-6);
  EXPECT_GE(clipped.min, low - bin - 1e-6);
  EXPECT_GE(clipped.max, high - 1e-6);
  EXPECT_LE(clipped.max, high + bin + 1e-6);
  EXPECT_LT(clipped.max, range.max) << "the percentile should clip the largest activations";

  const auto scales = onnx_export::quantize_weights_per_channel(weight, 0).scales;
  ASSERT_EQ(scales.size(0), static_cast<int64_t>(numpy["weight_scales"].size()));
  for (int64_t c = 0; c < scales.size(0); ++c)
    EXPECT_FLOAT_EQ(scales[c].item<float>(), numpy["weight_scales"][c].get<float>()) << "channel " << c;
}

TEST(QuantizationCalibration, NeedsAtLeastOneBatch) {
  TempDir dir;
  const auto path = export_simple_cnn(dir);
  const auto plan = onnx_export::plan_qdq(runtime::load_onnx_model(path).graph(), {});
  const std::vector<torch::Tensor> none;
  const auto message = testkit::message_of_throw(
      [&] { onnx_export::calibrate(path, plan.activations, batches_of(none), onnx_export::CalibrationMethod::MinMax); });
  EXPECT_NE(message.find("no calibration batch"), std::string::npos) << message;
  EXPECT_THROW(onnx_export::parse_calibration_method("entropy"), std::invalid_argument);
}

int64_t count_nodes(const onnx::GraphProto& graph, const std::string& op_type) {
  return std::count_if(graph.node().begin(), graph.node().end(), [&](const auto& node) { return node.op_type() == op_type; });
}

TEST(QuantizedModel, RunsInBothRuntimesCloseToTheFloatModel) {
  TempDir dir;
  const auto float_path = export_simple_cnn(dir);
  const auto quantized_path = dir.file("int8.onnx");
  const auto images = calibration_images();
  const auto report = onnx_export::quantize_static(float_path, quantized_path, batches_of(images), {});
  EXPECT_EQ(report.summary.quantized_nodes, 5);  // three convolutions, two linear layers
  EXPECT_EQ(report.summary.folded_activations, 4);     // after each convolution and fc1
  EXPECT_LT(report.quantized_bytes, report.float_bytes * 0.3);

  const auto graph = runtime::load_onnx_model(quantized_path).graph();
  EXPECT_EQ(count_nodes(graph, "Relu"), 0);
  EXPECT_GT(count_nodes(graph, "QuantizeLinear"), 0);
  EXPECT_EQ(graph.node(graph.node_size() - 1).op_type(), "Gemm") << "the logits come straight from the float Gemm";

  torch::manual_seed(23);
  const auto input = torch::randn({6, 3, kSide, kSide});
  runtime::ReferenceEvaluator float_model(float_path), reference(quantized_path);
  const auto expected = float_model.run({input}).front();
  const auto from_reference = reference.run({input}).front();
  const auto to_float = validate::compare(expected, from_reference);
  ASSERT_TRUE(to_float.metrics) << to_float.failure;
  EXPECT_GT(to_float.metrics->cosine_similarity, 0.99);

  MLTK_REQUIRE_ONNXRUNTIME();
  runtime::OnnxRuntimeNode onnxruntime(quantized_path);
  const auto from_onnxruntime = onnxruntime.run({input}).front();
  // ONNX Runtime fuses the QDQ pairs into integer kernels whose requantization may round an
  // activation one step differently: the same function up to a few quantization steps.
  const auto between = validate::compare(from_reference, from_onnxruntime);
  ASSERT_TRUE(between.metrics) << between.failure;
  EXPECT_GT(between.metrics->cosine_similarity, 0.999);
}

// Conv -> activation -> Reshape(shape from a Constant node) -> Gemm: nodes without inputs
// (Constant) sit among the ones the rewrite visits, as in exported MobileNets. The activation is a
// Relu, or a Clip between two Constant bounds when `clip` holds them (ReLU6 is {0, 6}).
std::string write_conv_gemm_model(const std::string& path, std::optional<std::pair<float, float>> clip = std::nullopt) {
  torch::manual_seed(7);
  onnx::GraphProto graph;
  graph.set_name("constant_shape");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::randn({4, 3, 3, 3}) * 0.3, "conv.weight");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::randn({5, 4 * 6 * 6}) * 0.1, "fc.weight");
  const auto add = [&](const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
    auto& node = *graph.add_node();
    node.set_op_type(op);
    node.set_name(output);
    for (const auto& input : inputs) node.add_input(input);
    node.add_output(output);
    return &node;
  };
  const auto constant = [&](const std::string& name, const torch::Tensor& value) {
    auto* attribute = add("Constant", {}, name)->add_attribute();
    attribute->set_name("value");
    attribute->set_type(onnx::AttributeProto::TENSOR);
    *attribute->mutable_t() = onnx_export::to_tensor_proto(value, "");
  };
  add("Conv", {"input", "conv.weight"}, "conv");
  if (clip) {
    constant("low", torch::tensor(clip->first));
    constant("high", torch::tensor(clip->second));
    add("Clip", {"conv", "low", "high"}, "activated");
  } else {
    add("Relu", {"conv"}, "activated");
  }
  constant("shape", torch::tensor({2, 4 * 6 * 6}, torch::kLong));
  add("Reshape", {"activated", "shape"}, "flat");
  auto* trans_b = add("Gemm", {"flat", "fc.weight"}, "output")->add_attribute();
  trans_b->set_name("transB");
  trans_b->set_type(onnx::AttributeProto::INT);
  trans_b->set_i(1);
  onnx_export::declare_graph_io(graph, {{"input", {2, 3, 8, 8}}}, {{"output", {2, 5}}});
  auto model = onnx_export::build_model(graph, 14, {});
  onnx_export::validate_model(model);
  onnx_export::write_model_atomically(model, path);
  return path;
}

std::vector<torch::Tensor> small_images() {
  torch::manual_seed(19);
  return {torch::randn({2, 3, 8, 8}), torch::randn({2, 3, 8, 8})};
}

// The quantized file's logits against the float file's on the first calibration batch.
double cosine_to_float(const std::string& float_path, const std::string& quantized_path,
                       const std::vector<torch::Tensor>& images) {
  runtime::ReferenceEvaluator float_model(float_path), quantized(quantized_path);
  const auto comparison = validate::compare(float_model.run({images[0]}).front(), quantized.run({images[0]}).front());
  EXPECT_TRUE(comparison.metrics) << comparison.failure;
  return comparison.metrics ? comparison.metrics->cosine_similarity : 0.0;
}

TEST(QuantizedModel, GraphsWithConstantNodesAreQuantized) {
  TempDir dir;
  const auto float_path = write_conv_gemm_model(dir.file("float.onnx"));
  const auto images = small_images();
  const auto report = onnx_export::quantize_static(float_path, dir.file("int8.onnx"), batches_of(images), {});
  EXPECT_EQ(report.summary.quantized_nodes, 2);
  EXPECT_GT(cosine_to_float(float_path, dir.file("int8.onnx"), images), 0.99);
}

TEST(QuantizedModel, ReluSixIsFoldedIntoTheQuantizationAndOtherClipsAreKept) {
  TempDir dir;
  const auto images = small_images();
  const auto relu6 = write_conv_gemm_model(dir.file("relu6.onnx"), std::pair{0.0F, 6.0F});
  const auto folded = onnx_export::quantize_static(relu6, dir.file("relu6.int8.onnx"), batches_of(images), {});
  EXPECT_EQ(folded.summary.folded_activations, 1);
  EXPECT_EQ(count_nodes(runtime::load_onnx_model(dir.file("relu6.int8.onnx")).graph(), "Clip"), 0);
  EXPECT_GT(cosine_to_float(relu6, dir.file("relu6.int8.onnx"), images), 0.99);

  // A Clip from -1 would let negative values through, which a zero point of 0 cannot represent.
  const auto symmetric = write_conv_gemm_model(dir.file("clip.onnx"), std::pair{-1.0F, 1.0F});
  const auto kept = onnx_export::quantize_static(symmetric, dir.file("clip.int8.onnx"), batches_of(images), {});
  EXPECT_EQ(kept.summary.folded_activations, 0);
  EXPECT_EQ(count_nodes(runtime::load_onnx_model(dir.file("clip.int8.onnx")).graph(), "Clip"), 1);
  EXPECT_GT(cosine_to_float(symmetric, dir.file("clip.int8.onnx"), images), 0.99);
}

TEST(QuantizedModel, NeedsOpset13) {
  TempDir dir;
  torch::manual_seed(5);
  auto model = models::create_model({"tiny_net", 2, kSide, std::nullopt});
  model->eval();
  onnx_export::ExportOptions options;
  options.input_shape = {3, kSide, kSide};
  options.opset = 12;
  onnx_export::export_to_onnx(*model, dir.file("opset12.onnx"), options);
  const auto images = calibration_images();
  const auto message = testkit::message_of_throw(
      [&] { onnx_export::quantize_static(dir.file("opset12.onnx"), dir.file("int8.onnx"), batches_of(images), {}); });
  EXPECT_NE(message.find("--opset_version 13"), std::string::npos) << message;
}

// QuantizeLinear to int8 per channel, then DequantizeLinear back, on values whose quotient by the
// scale lies exactly on halves and beyond the int8 range.
std::string write_int8_round_trip_model(const std::string& path) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  auto& graph = *model.mutable_graph();
  graph.set_name("int8_round_trip");
  const auto declare = [](onnx::ValueInfoProto& info, const std::string& name, int32_t type) {
    info.set_name(name);
    auto* tensor = info.mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    tensor->mutable_shape()->add_dim()->set_dim_value(2);
    tensor->mutable_shape()->add_dim()->set_dim_value(11);
  };
  declare(*graph.add_input(), "x", onnx::TensorProto::FLOAT);
  declare(*graph.add_output(), "q", onnx::TensorProto::INT8);
  declare(*graph.add_output(), "y", onnx::TensorProto::FLOAT);
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::tensor({0.5F, 0.25F}), "scale");
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::tensor({0, 3}, torch::kChar), "zero_point");
  for (const auto& [op, input, output] : {std::tuple<std::string, std::string, std::string>{"QuantizeLinear", "x", "q"},
                                          {"DequantizeLinear", "q", "y"}}) {
    auto& node = *graph.add_node();
    node.set_op_type(op);
    for (const auto& name : {input, std::string("scale"), std::string("zero_point")}) node.add_input(name);
    node.add_output(output);
    auto& axis = *node.add_attribute();
    axis.set_name("axis");
    axis.set_type(onnx::AttributeProto::INT);
    axis.set_i(0);
  }
  std::ofstream(path, std::ios::binary) << model.SerializeAsString();
  return path;
}

TEST(QuantizationOperators, Int8PerChannelRoundTripMatchesOnnxRuntime) {
  MLTK_REQUIRE_ONNXRUNTIME();
  TempDir dir;
  const auto path = write_int8_round_trip_model(dir.file("round_trip.onnx"));
  const auto halves = torch::tensor({-140.0F, -128.5F, -2.5F, -1.5F, -0.5F, 0.5F, 1.5F, 2.5F, 126.5F, 128.0F, 140.0F});
  const auto x = torch::stack({halves * 0.5F, halves * 0.25F});
  runtime::ReferenceEvaluator reference(path);
  runtime::OnnxRuntimeNode onnxruntime(path);
  const auto ours = reference.run({x});
  const auto theirs = onnxruntime.run({x});
  ASSERT_EQ(ours.size(), 2u);
  ASSERT_EQ(theirs.size(), 2u);
  ASSERT_EQ(ours[0].scalar_type(), torch::kChar);
  EXPECT_TRUE(torch::equal(ours[0], theirs[0])) << ours[0] << "\n" << theirs[0];
  EXPECT_TRUE(torch::equal(ours[1], theirs[1])) << ours[1] << "\n" << theirs[1];
}

TEST(QuantizationVerdict, AgreementAndAccuracyDropBands) {
  using validate::Status;
  EXPECT_EQ(validate::judge_agreement(0.995, 0.5).status, Status::Pass);
  EXPECT_EQ(validate::judge_agreement(0.99, 1.0).status, Status::Pass);
  EXPECT_EQ(validate::judge_agreement(0.989, 0.0).status, Status::Warn);
  EXPECT_EQ(validate::judge_agreement(1.0, 1.5).status, Status::Warn);
  EXPECT_EQ(validate::judge_agreement(0.97, 2.0).status, Status::Warn);
  EXPECT_EQ(validate::judge_agreement(0.969, 0.0).status, Status::Fail);
  EXPECT_EQ(validate::judge_agreement(1.0, 2.5).status, Status::Fail);
  EXPECT_EQ(validate::judge_agreement(0.995, std::nullopt).status, Status::Pass);
  // A quantized model that gets more right than the float one has not dropped.
  EXPECT_EQ(validate::judge_agreement(0.99, -3.0).status, Status::Pass);
}

}  // namespace
