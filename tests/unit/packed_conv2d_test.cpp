// PackedConv2d against torch::nn::Conv2d's own forward on the same module: bit for bit, on every
// convolution shape the zoo uses, and never with a stale copy of the weight.
#include "mltk/models/packed_conv2d.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/trace.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using mltk::models::PackedConv2d;

namespace {

struct ConvCase {
  const char* name;
  int64_t in, out, kernel, stride, padding, dilation, groups;
  bool bias;
  int64_t batch, side;
  bool on_onednn;  // LibTorch's own choice for this call (ConvUtils.h's use_mkldnn)
};

// LibTorch runs a batch-1 convolution on oneDNN when it is grouped, has a kernel larger than 3x3, or
// has an input of more than 20480 values, and smaller ones on its own im2col path; an unstrided 1x1
// convolution needs a batch of 16 or two threads. The cases do not depend on the thread count.
const ConvCase kCases[] = {
    {"stem7x7stride2", 3, 64, 7, 2, 3, 1, 1, false, 1, 224, true},
    {"resnet3x3", 64, 64, 3, 1, 1, 1, 1, false, 1, 56, true},
    {"downsample1x1stride2", 64, 128, 1, 2, 0, 1, 1, false, 1, 56, true},
    {"depthwise3x3", 32, 32, 3, 1, 1, 1, 32, false, 1, 28, true},
    {"depthwise7x7", 96, 96, 7, 1, 3, 1, 96, true, 1, 14, true},
    {"dilated3x3", 16, 16, 3, 1, 2, 2, 1, true, 2, 20, true},
    {"patchify16x16", 3, 48, 16, 16, 0, 1, 1, true, 2, 64, true},
    {"batch16_1x1", 64, 16, 1, 1, 0, 1, 1, true, 16, 2, true},
    {"batch8_3x3", 8, 8, 3, 1, 1, 1, 1, true, 8, 6, true},
    {"small3x3_im2col", 16, 16, 3, 1, 1, 1, 1, true, 1, 8, false},
};

void PrintTo(const ConvCase& c, std::ostream* out) { *out << c.name; }

PackedConv2d make_conv(const ConvCase& c) {
  torch::manual_seed(7);
  PackedConv2d conv(torch::nn::Conv2dOptions(c.in, c.out, c.kernel)
                        .stride(c.stride)
                        .padding(c.padding)
                        .dilation(c.dilation)
                        .groups(c.groups)
                        .bias(c.bias));
  conv->eval();
  return conv;
}

torch::Tensor unpacked_forward(PackedConv2d conv, const torch::Tensor& input) {
  return conv->torch::nn::Conv2dImpl::forward(input);
}

class PackedConv2dCase : public ::testing::TestWithParam<ConvCase> {};

TEST_P(PackedConv2dCase, MatchesConv2dBitForBitOnEveryCall) {
  const auto& c = GetParam();
  auto conv = make_conv(c);
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({c.batch, c.in, c.side, c.side});
  const auto expected = unpacked_forward(conv, input);
  const auto first = conv->forward(input);
  EXPECT_EQ(conv->holds_packed_weight(), c.on_onednn);
  const auto second = conv->forward(input);
  ASSERT_EQ(first.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(first, expected))
      << "largest difference " << (first - expected).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(second, expected));
  // A view that is not contiguous (every other sample) is made contiguous, as LibTorch does.
  if (c.batch > 1) {
    const auto strided = input.slice(0, 0, c.batch, 2);
    EXPECT_TRUE(torch::equal(conv->forward(strided), unpacked_forward(conv, strided)));
  }
}

TEST_P(PackedConv2dCase, FollowsWeightsChangedInPlace) {
  const auto& c = GetParam();
  auto conv = make_conv(c);
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({c.batch, c.in, c.side, c.side});
  const auto before = conv->forward(input);
  conv->weight.mul_(-0.5);  // what an optimiser step or load_state_dict's copy does
  const auto after = conv->forward(input);
  EXPECT_FALSE(torch::equal(after, before));
  EXPECT_TRUE(torch::equal(after, unpacked_forward(conv, input)));
}

INSTANTIATE_TEST_SUITE_P(ZooShapes, PackedConv2dCase, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PackedConv2d, FollowsAWeightTensorReplacedByAnother) {
  auto conv = make_conv(kCases[1]);
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({1, 64, 56, 56});
  conv->forward(input);
  conv->weight.set_data(torch::randn_like(conv->weight));
  EXPECT_TRUE(torch::equal(conv->forward(input), unpacked_forward(conv, input)));
}

TEST(PackedConv2d, TrainsThroughConv2dAndDropsTheCopy) {
  auto conv = make_conv(kCases[1]);
  const auto input = torch::randn({1, 64, 56, 56});
  {
    torch::NoGradGuard no_grad;
    conv->forward(input);
  }
  ASSERT_TRUE(conv->holds_packed_weight());
  const auto output = conv->forward(input);
  EXPECT_TRUE(output.requires_grad());
  EXPECT_FALSE(conv->holds_packed_weight());
  output.sum().backward();
  ASSERT_TRUE(conv->weight.grad().defined());
  EXPECT_GT(conv->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(PackedConv2d, TracesAsAnOrdinaryConvolution) {
  auto conv = make_conv(kCases[1]);
  const auto input = torch::randn({1, 64, 56, 56});
  {
    torch::NoGradGuard no_grad;
    conv->forward(input);  // a packed copy exists when the trace starts
  }
  const auto traced = mltk::onnx_export::trace_module(
      *conv, [&](const torch::Tensor& x) { return conv->forward(x); }, input);
  std::vector<std::string> kinds;
  for (const auto* node : traced.graph->nodes()) kinds.emplace_back(node->kind().toQualString());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "aten::_convolution"), kinds.end())
      << ::testing::PrintToString(kinds);
  EXPECT_EQ(std::find(kinds.begin(), kinds.end(), "aten::mkldnn_convolution"), kinds.end());
}

// Whole networks: an inference pass (packed weights) against a pass with gradients on (LibTorch's own
// convolution path), one architecture of each kind of convolution block.
class PackedConv2dInZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(PackedConv2dInZoo, InferenceMatchesThePassWithGradientsBitForBit) {
  torch::manual_seed(3);
  auto model = mltk::models::create_model({GetParam(), 10});
  model->eval();
  const auto input = torch::randn({1, 3, 224, 224});
  const auto with_gradients = model->forward(input).detach();
  torch::NoGradGuard no_grad;
  const auto packed_first = model->forward(input), packed_again = model->forward(input);
  EXPECT_TRUE(torch::equal(packed_first, with_gradients))
      << "largest difference " << (packed_first - with_gradients).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(packed_again, with_gradients));
  size_t packed = 0;
  for (const auto& child : model->modules())
    if (const auto* conv = child->as<mltk::models::PackedConv2dImpl>()) packed += conv->holds_packed_weight();
  EXPECT_GT(packed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Architectures, PackedConv2dInZoo,
                         ::testing::Values("resnet18", "mobilenet_v3_small", "efficientnet_b0", "densenet121",
                                           "convnext_tiny", "vgg11", "vit_b_16"),
                         [](const auto& info) { return info.param; });

}  // namespace
