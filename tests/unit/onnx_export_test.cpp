// The exporter checked against independent oracles: onnx's checker (inside the export), ONNX
// Runtime (OnnxRuntimeNode) for the numbers, LibTorch's own module for names and expected outputs.
#include "mltk/models/layers.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/convert_graph.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/onnx_export/graph_passes.h"
#include "mltk/onnx_export/model_writer.h"
#include "mltk/onnx_export/tensor_proto.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "support/test_support.h"

#include <onnx/onnx_pb.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/ir/irparser.h>
#include <torch/torch.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

using namespace mltk;
using onnx_export::ExportOptions;

namespace {

namespace F = torch::nn::functional;

std::filesystem::path scratch_dir() {
  const auto dir = std::filesystem::path(MLTK_BINARY_DIR) / "test_scratch" / "onnx_export";
  std::filesystem::create_directories(dir);
  return dir;
}

// A module outside the zoo exercising many converters: conv+BN, activations, cat, permute with
// layer_norm (ConvNeXt's LayerNorm2d), flatten/transpose, matmul with a raw parameter, softmax on
// a non-final dimension (the pre-opset-13 rewrite), mean and linear.
struct MixedOpsImpl : torch::nn::Module {
  MixedOpsImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1).bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(8));
    branch = register_module("branch", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 1)));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({16}).eps(1e-6)));
    projection = register_parameter("projection", torch::randn({16, 10}) * 0.1);
    head = register_module("head", torch::nn::Linear(10, 4));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::hardswish(torch::relu(bn(conv(x))));
    auto y = F::gelu(branch(x));
    y = torch::silu(y) * torch::hardsigmoid(y) + torch::sigmoid(y);
    x = torch::cat({x, y}, 1);                                // [N, 16, H, W]
    x = norm(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});  // LayerNorm over channels
    x = x.flatten(2).transpose(1, 2);                         // [N, HW, 16]
    x = torch::softmax(torch::matmul(x, projection), 1);      // [N, HW, 10]
    x = F::dropout(x.mean({1}) / 2.0, F::DropoutFuncOptions().p(0.3).training(is_training()));
    return torch::softmax(head(x), -1);
  }

  torch::nn::Conv2d conv{nullptr}, branch{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::Tensor projection;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(MixedOps);

// A second module for the remaining converters, including list-returning operators and those
// whose ONNX form changed at opset 13 (Split, Squeeze/Unsqueeze, ReduceSum axes as inputs).
struct ShapeOpsImpl : torch::nn::Module {
  ShapeOpsImpl() {
    weight = register_parameter("weight", torch::randn({4, 3, 3, 3}) * 0.2);
    bias = register_parameter("bias", torch::randn({4}) * 0.1);
    up = register_module("up", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(4, 4, 2).stride(2)));
    mat = register_parameter("mat", torch::randn({3, 5}));
    mat_bias = register_parameter("mat_bias", torch::randn({5}));
  }

  torch::Tensor forward(torch::Tensor x) {
    auto a = at::_convolution(x, weight, bias, {1, 1}, {1, 1}, {1, 1}, false, {0, 0}, 1, false, false, true, true);
    a = F::leaky_relu(a, F::LeakyReLUFuncOptions().negative_slope(0.1));
    auto b = F::avg_pool2d(up(a), F::AvgPool2dFuncOptions(2));
    auto c = F::adaptive_avg_pool2d(torch::hardtanh(a + b, -1.0, 1.0), F::AdaptiveAvgPool2dFuncOptions({2, 2}));
    auto parts = c.flatten(1).chunk(2, 1);                                  // 2 x [N, 8]
    auto u = (parts[0] * torch::tanh(parts[1])).unsqueeze(1).expand({-1, 3, -1});  // [N, 3, 8]
    auto s = torch::stack({u.select(1, 0), u.select(1, 2)}, 1);             // [N, 2, 8]
    auto v = torch::log_softmax(s.slice(2, 1, 7, 2), 1);                    // [N, 2, 3]
    auto z = torch::exp(-v.sum({1})) + x.mean({2, 3}, true).squeeze(-1).squeeze(-1);  // [N, 3]
    auto r = torch::addmm(mat_bias, z, mat, 0.5, 2.0).view({-1, 5}).t().t();           // [N, 5]
    auto halves = s.unbind(1);
    auto pieces = torch::relu6(halves[0] - halves[1]).split(3, 1);          // [N,3],[N,3],[N,2]
    return r + pieces[2].sum({-1}, true).pow(2);
  }

  torch::Tensor weight, bias, mat, mat_bias;
  torch::nn::ConvTranspose2d up{nullptr};
};
TORCH_MODULE(ShapeOps);

// The converters neither coverage module above reaches.
struct MiscOpsImpl : torch::nn::Module {
  MiscOpsImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 3, 3).padding(torch::kSame)));
    dropout = register_module("dropout", torch::nn::Dropout2d(0.5));
  }

  torch::Tensor forward(torch::Tensor x) {
    auto y = dropout(conv(x)).transpose(2, 3).contiguous().clone().detach();    // [N, 3, 8, 8]
    y = F::gelu(y, F::GELUFuncOptions().approximate("tanh")) + y.mean() - y.sum() / 1000.0;
    auto rows = y.flatten(2);                                                    // [N, 3, 64]
    auto gram = torch::bmm(rows, rows.transpose(1, 2));                          // [N, 3, 3]
    gram = (gram * gram + 1).sqrt();
    auto parts = gram.split({2, 1}, 1);                                          // [N, 2, 3], [N, 1, 3]
    return parts[0].sum({1}) + parts[1].unsqueeze(3).squeeze().reshape({-1, 3});  // [N, 3]
  }

  torch::nn::Conv2d conv{nullptr};
  torch::nn::Dropout2d dropout{nullptr};
};
TORCH_MODULE(MiscOps);

// The shared torchvision blocks of layers.h the zoo architectures are built from (MobileNetV3's
// hardswish conv and squeeze-excitation, ConvNeXt's LayerNorm2d/permute/layer scale/stochastic
// depth), followed by ViT-style hand-written attention with a class token, written batch-agnostic.
struct ZooBlocksImpl : torch::nn::Module {
  static constexpr int64_t kChannels = 16, kHeads = 2;

  ZooBlocksImpl() {
    using models::Activation;
    stem = register_module("stem", models::conv_norm_activation(3, kChannels, {3, 2, 1, 1, Activation::hardswish}));
    depthwise = register_module(
        "depthwise", models::conv_norm_activation(kChannels, kChannels, {3, 1, kChannels, 1, Activation::relu6}));
    se = register_module("se", models::SqueezeExcitation(kChannels, 8, Activation::silu, Activation::hardsigmoid));
    norm = register_module("norm", models::LayerNorm2d(kChannels, 1e-6));
    to_nhwc = register_module("to_nhwc", models::Permute(std::vector<int64_t>{0, 2, 3, 1}));
    to_nchw = register_module("to_nchw", models::Permute(std::vector<int64_t>{0, 3, 1, 2}));
    pointwise = register_module("pointwise", torch::nn::Linear(kChannels, kChannels));
    layer_scale = register_parameter("layer_scale", torch::full({kChannels, 1, 1}, 0.5));
    stochastic_depth = register_module("stochastic_depth", models::StochasticDepth(0.2, models::StochasticDepthImpl::Mode::row));
    class_token = register_parameter("class_token", torch::randn({1, 1, kChannels}));
    qkv = register_module("qkv", torch::nn::Linear(kChannels, 3 * kChannels));
    proj = register_module("proj", torch::nn::Linear(kChannels, kChannels));
    head = register_module("head", torch::nn::Linear(kChannels, 3));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = se(depthwise->forward(stem->forward(x)));                    // [N, C, 4, 4]
    auto block = to_nchw(F::gelu(pointwise(to_nhwc(norm(x)))));
    x = x + stochastic_depth(layer_scale * block);
    auto tokens = x.flatten(2).transpose(1, 2);                      // [N, 16, C]
    auto cls = class_token.expand_as(tokens.select(1, 0).unsqueeze(1));
    tokens = torch::cat({cls, tokens}, 1);                           // [N, S, C]
    const int64_t seq = tokens.size(1), head_dim = kChannels / kHeads;  // static sizes only
    auto qkv_heads = qkv(tokens).reshape({-1, seq, 3, kHeads, head_dim}).permute({2, 0, 3, 1, 4});
    auto q = qkv_heads[0], k = qkv_heads[1], v = qkv_heads[2];
    auto attention = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(head_dim)), -1);
    auto mixed = torch::matmul(attention, v).transpose(1, 2).reshape({-1, seq, kChannels});
    return head(proj(mixed).select(1, 0));
  }

  models::NestedSequential stem{nullptr}, depthwise{nullptr};
  models::SqueezeExcitation se{nullptr};
  models::LayerNorm2d norm{nullptr};
  models::Permute to_nhwc{nullptr}, to_nchw{nullptr};
  torch::nn::Linear pointwise{nullptr}, qkv{nullptr}, proj{nullptr}, head{nullptr};
  torch::Tensor layer_scale, class_token;
  models::StochasticDepth stochastic_depth{nullptr};
};
TORCH_MODULE(ZooBlocks);

// Gives BatchNorm non-trivial statistics, so that folding it is visible in the numbers.
void randomize_batch_norms(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules()) {
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(child.get())) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.5, 0.5);
    }
  }
}

torch::Tensor torch_output(torch::nn::Module& module, const onnx_export::ForwardFn& forward, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  module.eval();
  return forward(x);
}

torch::Tensor run_with_onnxruntime(const std::string& path, const torch::Tensor& input) {
  return runtime::OnnxRuntimeNode(path).run({input}).at(0);
}

void expect_onnxruntime_matches(const std::string& path, torch::nn::Module& module,
                                const onnx_export::ForwardFn& forward, const torch::Tensor& input) {
  const auto expected = torch_output(module, forward, input);
  const auto actual = run_with_onnxruntime(path, input);
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_LE((actual - expected).abs().max().item<double>(), 1e-4) << path;
}

onnx::ModelProto load_model(const std::string& path) {
  onnx::ModelProto model;
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&file)) << path;
  return model;
}

class OnnxRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    MLTK_REQUIRE_ONNXRUNTIME();
  }
};

struct ExportCase {
  std::string model;
  int opset;
};

void PrintTo(const ExportCase& param, std::ostream* out) { *out << param.model << " at opset " << param.opset; }

class ExportMatchesOnnxRuntime : public OnnxRuntimeTest, public ::testing::WithParamInterface<ExportCase> {};

// The model under test and how to call it.
struct ModelUnderTest {
  std::shared_ptr<torch::nn::Module> module;
  onnx_export::ForwardFn forward;
};

ModelUnderTest make_model(const std::string& name) {
  if (name == "misc_ops") {
    MiscOps model;
    return {model.ptr(), [model](const torch::Tensor& x) mutable { return model->forward(x); }};
  }
  if (name == "zoo_blocks") {
    ZooBlocks model;
    randomize_batch_norms(*model);
    return {model.ptr(), [model](const torch::Tensor& x) mutable { return model->forward(x); }};
  }
  if (name == "shape_ops") {
    ShapeOps model;
    return {model.ptr(), [model](const torch::Tensor& x) mutable { return model->forward(x); }};
  }
  if (name == "mixed_ops") {
    MixedOps model;
    randomize_batch_norms(*model);
    return {model.ptr(), [model](const torch::Tensor& x) mutable { return model->forward(x); }};
  }
  auto classifier = models::create_model({name, 3, 32, std::nullopt});
  return {classifier, [classifier](const torch::Tensor& x) { return classifier->forward(x); }};
}

// The aten operators ShapeOps is meant to exercise, as LibTorch's tracer records them (its
// ConvTranspose2d module is traced as aten::_convolution with transposed = true).
std::vector<std::string> shape_ops_aten_kinds() {
  return {"aten::_convolution", "aten::leaky_relu", "aten::avg_pool2d", "aten::hardtanh",
          "aten::adaptive_avg_pool2d", "aten::chunk", "aten::unsqueeze", "aten::expand", "aten::stack",
          "aten::slice", "aten::log_softmax", "aten::exp", "aten::neg", "aten::squeeze", "aten::addmm", "aten::view",
          "aten::t", "aten::unbind", "aten::split", "aten::pow", "aten::relu6", "aten::sub"};
}

std::vector<std::string> misc_ops_aten_kinds() {
  return {"aten::_convolution_mode", "aten::feature_dropout", "aten::contiguous", "aten::clone", "aten::detach", "aten::gelu", "aten::mean", "aten::sum",
          "aten::bmm", "aten::sqrt", "aten::squeeze", "aten::reshape"};
}

TEST_P(ExportMatchesOnnxRuntime, StaticAndDynamicBatch) {
  const auto& param = GetParam();
  auto model = make_model(param.model);
  const auto input_shape = param.model == "tiny_net" || param.model == "simple_cnn" ? std::vector<int64_t>{3, 32, 32}
                                                                                  : std::vector<int64_t>{3, 8, 8};

  ExportOptions options;
  options.opset = param.opset;
  options.batch_size = 2;
  options.input_shape = input_shape;
  options.metadata = {{"architecture", param.model}};
  const auto path = (scratch_dir() / (param.model + "_opset" + std::to_string(param.opset) + ".onnx")).string();
  const auto report = onnx_export::export_to_onnx(*model.module, model.forward, path, options);
  EXPECT_EQ(report.onnx_ops.count("BatchNormalization"), 0u);
  EXPECT_EQ(report.onnx_ops.count("Identity"), 0u);
  if (param.model == "tiny_net" || param.model == "simple_cnn")  // Linear on matrices: Gemm with transB
    EXPECT_EQ(report.onnx_ops.count("Transpose"), 0u) << ::testing::PrintToString(report.onnx_ops);
  const auto expected_kinds = param.model == "shape_ops" ? shape_ops_aten_kinds()
                              : param.model == "misc_ops" ? misc_ops_aten_kinds()
                                                          : std::vector<std::string>{};
  for (const auto& kind : expected_kinds)
    EXPECT_EQ(report.aten_ops.count(kind), 1u) << kind << " was not traced; the test does not cover it. Traced: "
                                               << ::testing::PrintToString(report.aten_ops);
  expect_onnxruntime_matches(path, *model.module, model.forward, torch::randn({2, input_shape[0], input_shape[1], input_shape[2]}));

  options.dynamic_batch = true;
  const auto dynamic_path = (scratch_dir() / (param.model + "_opset" + std::to_string(param.opset) + "_dynamic.onnx")).string();
  onnx_export::export_to_onnx(*model.module, model.forward, dynamic_path, options);
  expect_onnxruntime_matches(dynamic_path, *model.module, model.forward,
                             torch::randn({3, input_shape[0], input_shape[1], input_shape[2]}));
  const auto saved = load_model(dynamic_path);
  EXPECT_EQ(saved.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch_size");
  ASSERT_EQ(saved.metadata_props_size(), 1);
  EXPECT_EQ(saved.metadata_props(0).value(), param.model);
}

std::vector<ExportCase> export_cases() {
  std::vector<ExportCase> cases;
  for (const auto* model : {"tiny_net", "simple_cnn", "zoo_blocks"})
    for (const int opset : {11, 14, 17}) cases.push_back({model, opset});
  // The two operator-coverage modules at every supported opset.
  for (const auto* model : {"mixed_ops", "shape_ops", "misc_ops"})
    for (int opset = 11; opset <= 17; ++opset) cases.push_back({model, opset});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Opsets, ExportMatchesOnnxRuntime, ::testing::ValuesIn(export_cases()),
                         [](const auto& info) { return info.param.model + "_opset" + std::to_string(info.param.opset); });

struct ConvBnImpl : torch::nn::Module {
  ConvBnImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 6, 3)));
    bn = register_module("bn", torch::nn::BatchNorm2d(6));
    conv_no_bias = register_module("conv_no_bias", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 4, 1).bias(false)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(4));
  }
  torch::Tensor forward(torch::Tensor x) { return bn2(conv_no_bias(torch::relu(bn(conv(x))))).flatten(1); }
  torch::nn::Conv2d conv{nullptr}, conv_no_bias{nullptr};
  torch::nn::BatchNorm2d bn{nullptr}, bn2{nullptr};
};
TORCH_MODULE(ConvBn);

class BatchNormFolding : public OnnxRuntimeTest {};

TEST_F(BatchNormFolding, RemovesBatchNormalizationAndKeepsOutputs) {
  ConvBn model;
  randomize_batch_norms(*model);
  auto forward = [&model](const torch::Tensor& x) { return model->forward(x); };
  ExportOptions options;
  options.input_shape = {3, 10, 10};
  const auto path = (scratch_dir() / "conv_bn.onnx").string();
  const auto report = onnx_export::export_to_onnx(*model, forward, path, options);

  EXPECT_EQ(report.folded_batch_norms, 2);
  EXPECT_EQ(report.aten_ops.at("aten::batch_norm"), 2);
  EXPECT_EQ(report.onnx_ops.count("BatchNormalization"), 0u);
  const auto saved = load_model(path);
  std::set<std::string> initializers;
  for (const auto& initializer : saved.graph().initializer()) initializers.insert(initializer.name());
  EXPECT_EQ(initializers, (std::set<std::string>{"conv.weight", "conv.bias", "conv_no_bias.weight", "conv_no_bias.bias"}));
  expect_onnxruntime_matches(path, *model, forward, torch::randn({1, 3, 10, 10}));
}

TEST_F(BatchNormFolding, KeepsBatchNormalizationNotAfterConvolution) {
  // DenseNet's order: the norm follows an activation, so there is no convolution to fold it into.
  auto module = std::make_shared<torch::nn::Module>();
  torch::nn::Conv2d conv(module->register_module("conv", torch::nn::Conv2d(3, 4, 3)));
  torch::nn::BatchNorm2d bn(module->register_module("bn", torch::nn::BatchNorm2d(4)));
  randomize_batch_norms(*module);
  auto forward = [conv, bn](const torch::Tensor& x) mutable { return bn(torch::relu(conv(x))).flatten(1); };
  ExportOptions options;
  options.input_shape = {3, 6, 6};
  const auto path = (scratch_dir() / "relu_bn.onnx").string();
  const auto report = onnx_export::export_to_onnx(*module, forward, path, options);

  EXPECT_EQ(report.folded_batch_norms, 0);
  EXPECT_EQ(report.onnx_ops.at("BatchNormalization"), 1);
  const auto saved = load_model(path);
  std::set<std::string> initializers;
  for (const auto& initializer : saved.graph().initializer()) initializers.insert(initializer.name());
  // Buffers are initializers too; the unused num_batches_tracked is dropped.
  EXPECT_EQ(initializers, (std::set<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                                 "bn.running_var"}));
  expect_onnxruntime_matches(path, *module, forward, torch::randn({1, 3, 6, 6}));
}

class TracedIdioms : public OnnxRuntimeTest {};

// ATen implements `scalar - tensor` and `scalar / tensor` as empty_like(y).fill_(x).sub_(y),
// which the tracer records as aten::empty_like, aten::full_like and aten::sub/div.
TEST_F(TracedIdioms, ScalarOnTheLeft) {
  auto module = std::make_shared<torch::nn::Module>();
  auto forward = [](const torch::Tensor& x) {
    const auto left = (1.0 - torch::sigmoid(x)) / 2 + 3.0 / (x * x + 1);
    // A float64 0-d tensor keeps the float32 dtype in aten; *_like tensors follow x's run-time shape.
    return left * torch::scalar_tensor(2.0, torch::kDouble) + torch::ones_like(x) * 0.5 - torch::zeros_like(x);
  };
  ExportOptions options;
  options.input_shape = {3, 4, 4};
  options.dynamic_batch = true;
  const auto path = (scratch_dir() / "scalar_left.onnx").string();
  const auto report = onnx_export::export_to_onnx(*module, forward, path, options);
  for (const auto* kind : {"aten::empty_like", "aten::full_like", "aten::ones_like", "aten::zeros_like"})
    EXPECT_EQ(report.aten_ops.count(kind), 1u) << kind << ": " << ::testing::PrintToString(report.aten_ops);
  expect_onnxruntime_matches(path, *module, forward, torch::randn({3, 3, 4, 4}));
}

// ResNet's `out += identity` and ReLU(inplace=true): traced out-of-place, later uses must see the
// updated values.
TEST_F(TracedIdioms, InPlaceOperations) {
  auto module = std::make_shared<torch::nn::Module>();
  torch::nn::Conv2d conv(module->register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 3, 3).padding(1))));
  torch::nn::ReLU relu(module->register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions(true))));
  auto forward = [conv, relu](const torch::Tensor& x) mutable {
    auto out = conv(x);
    out += x;
    out = relu(out);
    out.mul_(2.0).sub_(0.25);
    return out;
  };
  ExportOptions options;
  options.input_shape = {3, 5, 5};
  const auto path = (scratch_dir() / "in_place.onnx").string();
  const auto report = onnx_export::export_to_onnx(*module, forward, path, options);
  for (const auto& [kind, count] : report.aten_ops) EXPECT_NE(kind.back(), '_') << kind << " was traced in place";
  expect_onnxruntime_matches(path, *module, forward, torch::randn({1, 3, 5, 5}));
}

// A size read through the tracer (instead of x.size(0), which is a plain number) is computed at run
// time: the dynamic-batch model must scale by the batch it is run with.
TEST_F(TracedIdioms, SizeRecordedWithGetSizeOf) {
  auto module = std::make_shared<torch::nn::Module>();
  auto forward = [](const torch::Tensor& x) {
    const auto batch = torch::jit::tracer::isTracing() ? torch::jit::tracer::getSizeOf(x, 0)
                                                       : torch::scalar_tensor(x.size(0), torch::kLong);
    return x.flatten(1) * batch.to(torch::kFloat);
  };
  ExportOptions options;
  options.input_shape = {2, 3, 3};
  options.dynamic_batch = true;
  const auto path = (scratch_dir() / "get_size_of.onnx").string();
  const auto report = onnx_export::export_to_onnx(*module, forward, path, options);
  EXPECT_EQ(report.aten_ops.count("aten::size"), 1u) << ::testing::PrintToString(report.aten_ops);
  expect_onnxruntime_matches(path, *module, forward, torch::randn({3, 2, 3, 3}));
}

// LibTorch's C++ tracer records Linear and Conv2d decomposed (t + addmm or matmul, _convolution);
// graphs traced from Python keep aten::linear and aten::conv2d. Their converters are checked on a
// parsed graph run through the same conversion, passes and validation as an export.
TEST_F(TracedIdioms, OperatorsOfPythonTraces) {
  onnx_export::TracedModule traced;
  traced.graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(R"IR(
graph(%input : Float(2, 3, 6, 6), %conv_w : Float(4, 3, 3, 3), %conv_b : Float(4), %fc_w : Float(5, 4),
      %fc_b : Float(5), %head_w : Float(3, 180)):
  %stride : int[] = prim::Constant[value=[1, 1]]()
  %padding : int[] = prim::Constant[value=[1, 1]]()
  %groups : int = prim::Constant[value=1]()
  %none : NoneType = prim::Constant()
  %y : Float(2, 4, 6, 6) = aten::conv2d(%input, %conv_w, %conv_b, %stride, %padding, %stride, %groups)
  %perm : int[] = prim::Constant[value=[0, 2, 3, 1]]()
  %nhwc : Float(2, 6, 6, 4) = aten::permute(%y, %perm)
  %z : Float(2, 6, 6, 5) = aten::linear(%nhwc, %fc_w, %fc_b)
  %start : int = prim::Constant[value=1]()
  %end : int = prim::Constant[value=-1]()
  %flat : Float(2, 180) = aten::flatten(%z, %start, %end)
  %out : Float(2, 3) = aten::linear(%flat, %head_w, %none)
  return (%out)
)IR",
                      traced.graph.get());
  traced.parameters = {{"conv.weight", torch::randn({4, 3, 3, 3})}, {"conv.bias", torch::randn({4})},
                       {"fc.weight", torch::randn({5, 4})},         {"fc.bias", torch::randn({5})},
                       {"head.weight", torch::randn({3, 180}) * 0.1}};
  const auto& p = traced.parameters;
  const auto input = torch::randn({2, 3, 6, 6});
  auto expected = torch::conv2d(input, p[0].second, p[1].second, 1, 1).permute({0, 2, 3, 1});
  expected = torch::linear(torch::linear(expected, p[2].second, p[3].second).flatten(1), p[4].second);
  traced.outputs = {expected};

  onnx_export::DeferredInitializers initializer_data;
  auto graph = onnx_export::convert_graph(traced, 14, initializer_data);
  onnx_export::declare_graph_io(graph, {{"input", {2, 3, 6, 6}}}, {{"output", {2, 3}}});
  onnx_export::remove_identities(graph);
  onnx_export::remove_dead_nodes(graph);
  auto model = onnx_export::build_model(graph, 14, {});
  onnx_export::validate_model(model, initializer_data);
  const auto path = (scratch_dir() / "python_trace_ops.onnx").string();
  onnx_export::write_model_atomically(model, path, initializer_data);

  const auto actual = run_with_onnxruntime(path, input);
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_LE((actual - expected).abs().max().item<double>(), 1e-4);
}

TEST(OnnxExport, ConversionErrorNamesOperatorAndReason) {
  auto module = std::make_shared<torch::nn::Module>();
  auto forward = [](const torch::Tensor& x) {
    return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({3, 3}));
  };
  ExportOptions options;
  options.input_shape = {3, 8, 8};
  try {
    onnx_export::export_to_onnx(*module, forward, (scratch_dir() / "adaptive.onnx").string(), options);
    FAIL() << "expected the export to fail";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind("Cannot convert 'aten::adaptive_avg_pool2d' at ONNX opset 14", 0), 0u) << message;
    EXPECT_NE(message.find("not a multiple of output side 3"), std::string::npos) << message;
  }
}

// A model whose initializers "fc.weight" and "fc.bias" keep their data in `deferred`, between
// an initializer holding its own data; input -> Identity -> output.
onnx::ModelProto model_with_deferred_initializers(onnx_export::DeferredInitializers& deferred) {
  onnx::GraphProto graph;
  graph.set_name("deferred");
  onnx_export::declare_graph_io(graph, {{"input", {1, 3}}}, {{"output", {1, 3}}});
  auto* node = graph.add_node();
  node->set_op_type("Identity");
  node->add_input("input");
  node->add_output("output");
  onnx_export::add_deferred_initializer(graph, deferred, "fc.weight", torch::randn({4, 3}));
  *graph.add_initializer() = onnx_export::to_tensor_proto(torch::ones({2}), "held");
  onnx_export::add_deferred_initializer(graph, deferred, "fc.bias", torch::arange(4, torch::kLong));
  return onnx_export::build_model(graph, 14, {{"architecture", "none"}});
}

TEST(OnnxExport, DeferredInitializersAreWrittenAsProtobufSerializesThem) {
  onnx_export::DeferredInitializers deferred;
  auto model = model_with_deferred_initializers(deferred);
  onnx_export::validate_model(model, deferred);
  EXPECT_FALSE(model.graph().initializer(0).has_raw_data()) << "validation must not leave data in the model";
  const auto path = (scratch_dir() / "deferred.onnx").string();
  onnx_export::write_model_atomically(model, path, deferred);

  for (auto& initializer : *model.mutable_graph()->mutable_initializer())
    if (const auto found = deferred.find(initializer.name()); found != deferred.end())
      initializer = onnx_export::to_tensor_proto(found->second, initializer.name());
  std::ifstream file(path, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, model.SerializeAsString());
}

TEST(OnnxExport, DeferredDataOfAnotherShapeIsRejected) {
  onnx_export::DeferredInitializers deferred;
  auto model = model_with_deferred_initializers(deferred);
  deferred["fc.weight"] = torch::randn({3, 4});
  EXPECT_THROW(onnx_export::validate_model(model, deferred), std::logic_error);
  EXPECT_THROW(onnx_export::write_model_atomically(model, (scratch_dir() / "mismatch.onnx").string(), deferred),
               std::logic_error);
}

TEST(OnnxExport, ValidationFailureNamesTheCheck) {
  onnx::GraphProto graph;
  graph.set_name("broken");
  onnx_export::declare_graph_io(graph, {{"input", {1, 3, 2, 2}}}, {{"output", {1, 3, 2, 2}}});
  auto* node = graph.add_node();
  node->set_op_type("NoSuchOperator");
  node->add_input("input");
  node->add_output("output");
  auto model = onnx_export::build_model(graph, 14, {});
  try {
    onnx_export::validate_model(model);
    FAIL() << "expected validation to fail";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("check_model"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("NoSuchOperator"), std::string::npos) << error.what();
  }
}

TEST(OnnxExport, TensorsComputedFromConstantsAreFolded) {
  auto module = std::make_shared<torch::nn::Module>();
  torch::nn::Conv2d conv(module->register_module("conv", torch::nn::Conv2d(3, 4, 1)));
  auto forward = [conv](const torch::Tensor& x) mutable {
    return conv(x) * (torch::ones({1, 4, 1, 1}) * 2.0 + torch::arange(4).reshape({1, 4, 1, 1}));
  };
  ExportOptions options;
  options.input_shape = {3, 4, 4};
  const auto report = onnx_export::export_to_onnx(*module, forward, (scratch_dir() / "folded.onnx").string(), options);
  for (const auto* kind : {"aten::ones", "aten::arange", "aten::reshape", "aten::add"})
    EXPECT_EQ(report.aten_ops.count(kind), 0u) << kind;
  EXPECT_EQ(report.onnx_ops, (std::map<std::string, int64_t>{{"Constant", 1}, {"Conv", 1}, {"Mul", 1}}));
}

TEST(OnnxExport, InitializerNamesAreTheModuleParameterNames) {
  auto model = models::create_model({"simple_cnn", 5, 32, std::nullopt});
  ExportOptions options;
  options.input_shape = {3, 32, 32};
  const auto path = (scratch_dir() / "names.onnx").string();
  const auto report = onnx_export::export_to_onnx(*model, path, options);

  const auto saved = load_model(path);
  std::set<std::string> expected, actual;
  for (const auto& item : model->named_parameters()) expected.insert(item.key());
  for (const auto& initializer : saved.graph().initializer()) actual.insert(initializer.name());
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(report.initializer_count, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(report.node_count, saved.graph().node_size());
  EXPECT_EQ(report.path, path);
  EXPECT_GT(report.elapsed_ms, 0.0);
  // The atomic write leaves no temporary file behind.
  for (const auto& entry : std::filesystem::directory_iterator(scratch_dir()))
    EXPECT_EQ(entry.path().filename().string().rfind("names.onnx.", 0), std::string::npos) << entry.path();
}

TEST(OnnxExport, UnsupportedOperatorNamesTheOperator) {
  auto module = std::make_shared<torch::nn::Module>();
  torch::nn::Conv2d conv(module->register_module("conv", torch::nn::Conv2d(3, 4, 3)));
  auto forward = [conv](const torch::Tensor& x) mutable { return torch::cumprod(conv(x), 1); };
  ExportOptions options;
  options.input_shape = {3, 8, 8};
  try {
    onnx_export::export_to_onnx(*module, forward, (scratch_dir() / "cumprod.onnx").string(), options);
    FAIL() << "expected the export to fail";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind("Unsupported operator 'aten::", 0), 0u) << message;
    EXPECT_NE(message.find("aten::cumprod"), std::string::npos) << message;
    EXPECT_NE(message.find("opset 14"), std::string::npos) << message;
    EXPECT_NE(message.find("parameter 'conv."), std::string::npos) << message;  // where it was met
    EXPECT_NE(message.find("--opset_version"), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(scratch_dir() / "cumprod.onnx"));
}

TEST(OnnxExport, DynamicBatchRejectsBakedBatchSize) {
  auto module = std::make_shared<torch::nn::Module>();
  torch::nn::Conv2d conv(module->register_module("conv", torch::nn::Conv2d(3, 4, 3)));
  // x.size(0) is a plain number in C++: the trace records it as a constant.
  auto forward = [conv](const torch::Tensor& x) mutable { return conv(x).reshape({x.size(0), -1}); };
  ExportOptions options;
  options.input_shape = {3, 8, 8};
  options.dynamic_batch = true;
  const auto path = (scratch_dir() / "baked.onnx").string();
  try {
    onnx_export::export_to_onnx(*module, forward, path, options);
    FAIL() << "expected the export to fail";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("depends on the batch size"), std::string::npos) << error.what();
  }
  options.dynamic_batch = false;
  EXPECT_NO_THROW(onnx_export::export_to_onnx(*module, forward, path, options));
}

TEST(OnnxExport, RejectsOpsetOutsideSupportedRange) {
  auto model = models::create_model({"tiny_net", 2, 16, std::nullopt});
  ExportOptions options;
  options.input_shape = {3, 16, 16};
  options.opset = 10;
  EXPECT_THROW(onnx_export::export_to_onnx(*model, (scratch_dir() / "bad.onnx").string(), options),
               std::invalid_argument);
}

TEST(OnnxExport, RestoresTrainingMode) {
  auto model = models::create_model({"tiny_net", 2, 16, std::nullopt});
  model->train();
  ExportOptions options;
  options.input_shape = {3, 16, 16};
  onnx_export::export_to_onnx(*model, (scratch_dir() / "train_mode.onnx").string(), options);
  EXPECT_TRUE(model->is_training());
}

}  // namespace
