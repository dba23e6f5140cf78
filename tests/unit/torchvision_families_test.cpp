// Structural checks of the ResNet, VGG and DenseNet ports against numbers taken from torchvision 0.14
// (models built with num_classes=2). Numerical parity with torchvision needs its weights and lives in
// the parity harness; these checks only need LibTorch.
#include "mltk/models/zoo.h"

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <gtest/gtest.h>

#include <cmath>

using namespace mltk::models;

namespace {

struct TorchvisionFacts {
  const char* name;
  int64_t parameters;         // sum(p.numel() for p in model.parameters())
  size_t state_dict_entries;  // len(model.state_dict())
  const char* weights_file;   // get_model_weights(name).DEFAULT.url's file name
};

const TorchvisionFacts kFacts[] = {
    {"resnet18", 11177538, 122, "resnet18-f37072fd.pth"},
    {"resnet34", 21285698, 218, "resnet34-b627a593.pth"},
    {"resnet50", 23512130, 320, "resnet50-11ad3fa6.pth"},
    {"resnet101", 42504258, 626, "resnet101-cd907fc2.pth"},
    {"resnet152", 58147906, 932, "resnet152-f82ba261.pth"},
    {"vgg11", 128774530, 22, "vgg11-8a719046.pth"},
    {"vgg13", 128959042, 26, "vgg13-19584684.pth"},
    {"vgg16", 134268738, 32, "vgg16-397923af.pth"},
    {"vgg19", 139578434, 38, "vgg19-dcbb9e9d.pth"},
    {"densenet121", 6955906, 727, "densenet121-a639ec97.pth"},
    {"densenet161", 26476418, 967, "densenet161-8d451a50.pth"},
    {"densenet169", 12487810, 1015, "densenet169-b2777c0a.pth"},
    {"densenet201", 18096770, 1207, "densenet201-c1103571.pth"},
};

class TorchvisionFamily : public ::testing::TestWithParam<TorchvisionFacts> {};

TEST_P(TorchvisionFamily, MatchesTorchvisionStructureAndRunsAnyBatchSize) {
  const auto& facts = GetParam();
  const auto& entry = ModelZoo::instance().find(facts.name);
  EXPECT_EQ(entry.type, ModelType::base);
  EXPECT_EQ(entry.torchvision_weights_file, facts.weights_file);

  auto model = create_model({facts.name, 2});
  EXPECT_EQ(count_parameters(*model), facts.parameters);
  EXPECT_EQ(model->named_parameters().size() + model->named_buffers().size(), facts.state_dict_entries);

  // Batch size and a resolution other than 224 must both work (forward code bakes in neither).
  model->eval();
  torch::NoGradGuard no_grad;
  const auto logits = model->forward(torch::randn({3, 3, 64, 64}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionFamily, ::testing::ValuesIn(kFacts),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TorchvisionFamily, KeysFollowTorchvisionNaming) {
  const auto resnet = create_model({"resnet50", 2})->named_parameters();
  EXPECT_TRUE(resnet.contains("layer1.0.downsample.0.weight"));
  EXPECT_TRUE(resnet.contains("layer4.2.bn3.bias"));
  EXPECT_EQ(resnet["fc.weight"].sizes(), (std::vector<int64_t>{2, 2048}));

  const auto vgg = create_model({"vgg16", 2})->named_parameters();
  EXPECT_TRUE(vgg.contains("features.28.weight"));  // ReLU and max-pool layers take up indices
  EXPECT_EQ(vgg["classifier.6.weight"].sizes(), (std::vector<int64_t>{2, 4096}));

  const auto densenet = create_model({"densenet121", 2});
  const auto buffers = densenet->named_buffers();
  EXPECT_TRUE(buffers.contains("features.denseblock1.denselayer1.norm1.running_mean"));
  EXPECT_TRUE(buffers.contains("features.transition3.norm.num_batches_tracked"));
  EXPECT_EQ(densenet->named_parameters()["classifier.weight"].sizes(), (std::vector<int64_t>{2, 1024}));
}

TEST(TorchvisionFamily, InitialisesLikeTorchvision) {
  torch::manual_seed(0);
  const auto resnet = create_model({"resnet18", 2})->named_parameters();
  // kaiming_normal_(mode="fan_out", nonlinearity="relu") on a 64 -> 128 3x3 conv: std = sqrt(2 / (128 * 3 * 3)),
  // not the fan_in value sqrt(2 / (64 * 3 * 3)).
  EXPECT_NEAR(resnet["layer2.0.conv1.weight"].std().item<double>(), std::sqrt(2.0 / 1152), 0.002);
  EXPECT_TRUE(resnet["layer1.0.bn2.weight"].eq(1).all().item<bool>());  // zero_init_residual=False

  const auto vgg = create_model({"vgg11", 2})->named_parameters();
  EXPECT_NEAR(vgg["classifier.3.weight"].std().item<double>(), 0.01, 0.0005);
  EXPECT_TRUE(vgg["classifier.3.bias"].eq(0).all().item<bool>());
  EXPECT_TRUE(vgg["features.0.bias"].eq(0).all().item<bool>());

  const auto densenet = create_model({"densenet121", 2})->named_parameters();
  // kaiming_normal_ defaults (fan_in, gain sqrt(2)) on a 128 -> 32 3x3 conv: std = sqrt(2 / (128 * 3 * 3)).
  EXPECT_NEAR(densenet["features.denseblock1.denselayer1.conv2.weight"].std().item<double>(), std::sqrt(2.0 / 1152),
              0.002);
  EXPECT_TRUE(densenet["classifier.bias"].eq(0).all().item<bool>());
}

}  // namespace
