// The frozen graph's Winograd convolutions against LibTorch's own eager modules: which convolutions
// are rewritten, what their nodes absorb, and that the results agree to float rounding.
#include "mltk/inference/frozen_forward.h"
#include "mltk/inference/winograd_convolution.h"
#include "mltk/models/zoo.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using mltk::inference::FrozenForward;
using mltk::inference::kBlockedConvolutionKind;
using mltk::inference::kWinogradConvolutionKind;

int64_t count(const std::map<std::string, int64_t>& kinds, const std::string& kind) {
  return kinds.count(kind) ? kinds.at(kind) : 0;
}

// conv3x3 -> batch norm -> ReLU -> conv3x3 -> batch norm -> + input -> ReLU, as in ResNet's basic block.
struct ResidualBlockImpl : torch::nn::Module {
  explicit ResidualBlockImpl(int64_t channels)
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(false)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(channels))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(false)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(channels))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    auto out = torch::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    out += x;
    return torch::relu(out);
  }

  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
};
TORCH_MODULE(ResidualBlock);

// Batch norms with statistics of their own, so that folding them changes the weights and the bias.
void randomise_statistics(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& buffer : module.named_buffers()) {
    if (buffer.key().find("running_var") != std::string::npos) buffer.value().uniform_(0.5, 2.0);
    if (buffer.key().find("running_mean") != std::string::npos) buffer.value().normal_(0.0, 0.2);
  }
  for (auto& parameter : module.named_parameters()) {
    if (parameter.key().find("bn") != std::string::npos) parameter.value().normal_(0.0, 0.5);
  }
}

bool has_avx512() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }

double relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual - expected).abs().max().item<double>() / std::max(1.0, expected.abs().max().item<double>());
}

// Freezes `forward` of `module`, which must agree with it on `input` and run `winograd_nodes`
// convolutions on Winograd.
void expect_frozen_agrees_on_winograd(torch::nn::Module& module, const mltk::pipeline::ForwardFn& forward,
                                      const torch::Tensor& input, int64_t winograd_nodes) {
  torch::NoGradGuard no_grad;
  FrozenForward frozen(module, forward);
  EXPECT_LE(relative_difference(frozen(input), forward(input)), 1e-5);
  const auto kinds = frozen.node_kinds(input.sizes().vec());
  EXPECT_EQ(count(kinds, kWinogradConvolutionKind), winograd_nodes) << ::testing::PrintToString(kinds);
}

struct BlockCase {
  const char* name;
  int64_t channels, batch, side;
  bool has_winograd_kernel;  // oneDNN 2.6 on AVX-512 CPUs; elsewhere LibTorch's convolution runs them
};

void PrintTo(const BlockCase& c, std::ostream* out) { *out << c.name; }

class WinogradResidualBlock : public ::testing::TestWithParam<BlockCase> {};

TEST_P(WinogradResidualBlock, OneNodePerConvolutionWithItsAdditionAndReluAgreesWithEager) {
  const auto& c = GetParam();
  torch::manual_seed(3);
  ResidualBlock block(c.channels);
  randomise_statistics(*block);
  block->eval();
  const auto input = torch::randn({c.batch, c.channels, c.side, c.side});
  torch::NoGradGuard no_grad;
  const auto expected = block->forward(input);

  FrozenForward frozen(*block, [&](const torch::Tensor& x) { return block->forward(x); });
  const auto before = mltk::inference::winograd_plans();
  const auto first = frozen(input), second = frozen(input);
  const auto after = mltk::inference::winograd_plans();
  if (has_avx512()) {
    // One plan per convolution, made on the first call and reused by the second.
    EXPECT_EQ(after.on_winograd - before.on_winograd, c.has_winograd_kernel ? 2 : 0) << c.name;
    EXPECT_EQ(after.on_libtorch - before.on_libtorch, c.has_winograd_kernel ? 0 : 2) << c.name;
  }
  EXPECT_LE(relative_difference(first, expected), 1e-5) << c.name;
  EXPECT_TRUE(torch::equal(first, second)) << c.name << ": the second call must reuse the same kernels";

  const auto kinds = frozen.node_kinds(input.sizes().vec());
  EXPECT_EQ(count(kinds, kWinogradConvolutionKind), 2) << ::testing::PrintToString(kinds);
  for (const char* absorbed : {"aten::add", "aten::add_", "aten::relu", "aten::relu_", "aten::conv2d",
                               "aten::_convolution", "aten::batch_norm"}) {
    EXPECT_EQ(kinds.count(absorbed), 0u) << absorbed << " left in " << ::testing::PrintToString(kinds);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradResidualBlock,
                         ::testing::Values(BlockCase{"resnet_stage1", 64, 2, 56, true},
                                           BlockCase{"odd_side", 32, 3, 13, true}, BlockCase{"batch1", 64, 1, 14, true},
                                           BlockCase{"channels24", 24, 2, 10, true},
                                           BlockCase{"one_pixel", 64, 2, 1, true}),
                         [](const auto& info) { return std::string(info.param.name); });

struct NeighbourCase {
  const char* name;
  int64_t kernel, stride, padding, dilation, side;
};

void PrintTo(const NeighbourCase& c, std::ostream* out) { *out << c.name; }

class ConvolutionAfterAChain : public ::testing::TestWithParam<NeighbourCase> {};

// A convolution that reads a Winograd chain's output joins it on oneDNN's direct kernels, reading the
// blocked layout; its output size and padding follow LibTorch's rules for any stride and dilation.
TEST_P(ConvolutionAfterAChain, RunsOnDirectKernelsAndAgreesWithEager) {
  const auto& c = GetParam();
  torch::manual_seed(9);
  torch::nn::Sequential model(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::ReLU(),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::ReLU(),
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(32, 48, c.kernel).stride(c.stride).padding(c.padding).dilation(c.dilation)));
  model->eval();
  const auto input = torch::randn({3, 32, c.side, c.side});
  torch::NoGradGuard no_grad;
  const auto expected = model->forward(input);
  FrozenForward frozen(*model, [&](const torch::Tensor& x) { return model->forward(x); });
  const auto before = mltk::inference::winograd_plans();
  const auto output = frozen(input);
  const auto after = mltk::inference::winograd_plans();
  ASSERT_EQ(output.sizes(), expected.sizes()) << c.name;
  EXPECT_LE(relative_difference(output, expected), 1e-5) << c.name;
  const auto kinds = frozen.node_kinds(input.sizes().vec());
  EXPECT_EQ(count(kinds, kWinogradConvolutionKind), 2) << ::testing::PrintToString(kinds);
  EXPECT_EQ(count(kinds, kBlockedConvolutionKind), 1) << ::testing::PrintToString(kinds);
  if (has_avx512()) EXPECT_EQ(after.on_direct - before.on_direct, 1) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvolutionAfterAChain,
                         ::testing::Values(NeighbourCase{"strided3x3_odd_side", 3, 2, 1, 1, 13},
                                           NeighbourCase{"strided1x1", 1, 2, 0, 1, 13},
                                           NeighbourCase{"unpadded_strided3x3", 3, 2, 0, 1, 14},
                                           NeighbourCase{"padded5x5", 5, 1, 2, 1, 11},
                                           NeighbourCase{"dilated3x3", 3, 1, 2, 2, 12},
                                           NeighbourCase{"stem7x7", 7, 2, 3, 1, 15}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(WinogradConvolution, AnInputOtherThanFloatRunsThroughLibTorchsConvolution) {
  torch::manual_seed(4);
  ResidualBlock block(32);
  randomise_statistics(*block);
  block->eval();
  const auto input = torch::randn({2, 32, 12, 12});
  torch::NoGradGuard no_grad;
  FrozenForward frozen(*block, [&](const torch::Tensor& x) { return block->forward(x); });
  frozen(input);  // builds the graph for this sample shape, which the double input below then runs
  ASSERT_EQ(frozen.node_kinds(input.sizes().vec()).at(kWinogradConvolutionKind), 2);
  const auto before = mltk::inference::winograd_plans();
  // The first node runs at::conv2d and hands its output to the second in the blocked layout.
  const auto output = frozen(input.to(torch::kDouble));
  const auto after = mltk::inference::winograd_plans();
  EXPECT_LE(relative_difference(output.to(torch::kFloat), block->forward(input)), 1e-5);
  EXPECT_EQ(after.on_winograd, before.on_winograd);
}

TEST(WinogradConvolution, KernelsOneDnnHasNoWinogradFormStayLibTorchs) {
  torch::manual_seed(5);
  torch::nn::Sequential convolutions(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3).stride(2).padding(1)),           // strided
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3).padding(2).dilation(2)),         // dilated
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3).padding(1).groups(64)),          // depthwise
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 1)),                                // 1x1
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 5).padding(2)),                     // 5x5
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3)));                               // no padding
  convolutions->eval();
  const auto input = torch::randn({2, 64, 20, 20});
  torch::NoGradGuard no_grad;
  const auto expected = convolutions->forward(input);
  FrozenForward frozen(*convolutions, [&](const torch::Tensor& x) { return convolutions->forward(x); });
  EXPECT_LE(relative_difference(frozen(input), expected), 1e-5);
  const auto kinds = frozen.node_kinds(input.sizes().vec());
  EXPECT_EQ(count(kinds, kWinogradConvolutionKind) + count(kinds, kBlockedConvolutionKind), 0)
      << ::testing::PrintToString(kinds);
}

TEST(WinogradConvolution, AReluThatAnotherNodeAlsoReadsIsNotAbsorbed) {
  torch::manual_seed(6);
  torch::nn::Sequential convolutions(torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)),
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)));
  convolutions->eval();
  // The second convolution's output is read by the ReLU and by the addition: neither can move into its
  // node, and the output must leave it in the ordinary layout.
  const auto forward = [&](const torch::Tensor& x) {
    const auto y = convolutions->forward(x);
    return torch::relu(y) + y;
  };
  expect_frozen_agrees_on_winograd(*convolutions, forward, torch::randn({2, 32, 16, 16}), 2);
}

TEST(WinogradConvolution, AResidualReadAgainLaterKeepsItsValues) {
  torch::manual_seed(8);
  const auto conv = [] { return torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)); };
  torch::nn::Conv2d first = conv(), second = conv(), third = conv(), fourth = conv();
  torch::nn::Sequential holder(first, second, third, fourth);
  holder->eval();
  // Only rewritten nodes read `a`, so it stays in the blocked layout, which the third node could add
  // into in place; but the fourth reads it afterwards, so it must still hold the first convolution's
  // values then.
  const auto forward = [&](const torch::Tensor& x) {
    const auto a = first(x);
    const auto b = torch::relu(third(second(a)) + a);
    return fourth(a) + b;
  };
  expect_frozen_agrees_on_winograd(*holder, forward, torch::randn({2, 32, 12, 12}), 4);
}

TEST(WinogradConvolution, BlocksInARowAddIntoTheResidualTheyAreLastToRead) {
  torch::manual_seed(9);
  torch::nn::Sequential blocks(ResidualBlock(32), ResidualBlock(32), ResidualBlock(32));
  randomise_statistics(*blocks);
  blocks->eval();
  // The second and third blocks' residuals are the previous block's output, read by nothing after them.
  torch::NoGradGuard no_grad;
  FrozenForward frozen(*blocks, [&](const torch::Tensor& x) { return blocks->forward(x); });
  for (const int64_t batch : {4, 4, 3}) {  // 3 runs on the plan of 4, padded: the residual is then copied
    const auto input = torch::randn({batch, 32, 10, 10});
    EXPECT_LE(relative_difference(frozen(input), blocks->forward(input)), 1e-5) << "batch " << batch;
  }
}

TEST(WinogradConvolution, AConvolutionBetweenOthersThatStayOnDirectKernelsIsLeftAlone) {
  torch::manual_seed(7);
  // ResNet-50's bottleneck: converting the 3x3 convolution's input and output between layouts would
  // cost more than Winograd saves.
  torch::nn::Sequential bottleneck(torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 32, 1)), torch::nn::ReLU(),
                                   torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::ReLU(),
                                   torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 1)));
  bottleneck->eval();
  const auto input = torch::randn({2, 64, 14, 14});
  torch::NoGradGuard no_grad;
  FrozenForward frozen(*bottleneck, [&](const torch::Tensor& x) { return bottleneck->forward(x); });
  EXPECT_LE(relative_difference(frozen(input), bottleneck->forward(input)), 1e-5);
  const auto kinds = frozen.node_kinds(input.sizes().vec());
  EXPECT_EQ(count(kinds, kWinogradConvolutionKind) + count(kinds, kBlockedConvolutionKind), 0)
      << ::testing::PrintToString(kinds);
}

// What each architecture runs on Winograd, from torchvision's definitions: every 3x3 convolution of
// ResNet-18's basic blocks but the strided first one of stages 2-4 (4 + 3 + 3 + 3), and beside them
// on direct kernels in the same layout those strided ones and the 1x1 shortcuts (3 + 3); none of
// ResNet-50's, each alone between two 1x1 convolutions; VGG-11's in its last three stages, which have
// two each (its first two stages have one, between poolings).
TEST(WinogradConvolution, ResNetAndVggRunTheirChainedThreeByThreeConvolutionsOnIt) {
  struct Expected {
    std::string architecture;
    int64_t winograd, blocked;
  };
  for (const auto& expected : {Expected{"resnet18", 13, 6}, Expected{"resnet50", 0, 0}, Expected{"vgg11", 6, 0}}) {
    torch::manual_seed(8);
    auto model = mltk::models::create_model({expected.architecture, 3});
    model->eval();
    const auto input = torch::randn({2, 3, 224, 224});
    torch::NoGradGuard no_grad;
    const auto eager = model->forward(input);
    FrozenForward frozen(*model, [&](const torch::Tensor& x) { return model->forward(x); });
    EXPECT_LE(relative_difference(frozen(input), eager), 1e-4) << expected.architecture;
    const auto kinds = frozen.node_kinds(input.sizes().vec());
    EXPECT_EQ(count(kinds, kWinogradConvolutionKind), expected.winograd)
        << expected.architecture << ::testing::PrintToString(kinds);
    EXPECT_EQ(count(kinds, kBlockedConvolutionKind), expected.blocked)
        << expected.architecture << ::testing::PrintToString(kinds);
  }
}

}  // namespace
