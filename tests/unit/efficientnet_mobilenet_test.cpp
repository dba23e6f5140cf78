// Cheap structural checks against torchvision 0.14; the weight-level parity lives in the parity harness.
#include "mltk/models/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace mltk::models;

namespace {

struct Expected {
  const char* name;
  int64_t imagenet_parameters;  // torchvision's num_params with the 1000-class head
  size_t state_entries;         // len(model.state_dict()), buffers included
  const char* weights_file;
};

const Expected kExpected[] = {
    {"efficientnet_b0", 5288548, 360, "efficientnet_b0_rwightman-3dd342df.pth"},
    {"efficientnet_b1", 7794184, 508, "efficientnet_b1-c27df63c.pth"},
    {"efficientnet_b2", 9109994, 508, "efficientnet_b2_rwightman-bcdf34b7.pth"},
    {"efficientnet_b3", 12233232, 574, "efficientnet_b3_rwightman-cf984f9c.pth"},
    {"mobilenet_v2", 3504872, 314, "mobilenet_v2-7ebf99e0.pth"},
    {"mobilenet_v3_small", 2542856, 244, "mobilenet_v3_small-047dcff4.pth"},
    {"mobilenet_v3_large", 5483032, 312, "mobilenet_v3_large-5c1a4163.pth"},
};

class EfficientNetMobileNet : public ::testing::TestWithParam<Expected> {};

TEST_P(EfficientNetMobileNet, MatchesTorchvisionSizeAndWeightsFile) {
  const auto& expected = GetParam();
  auto model = create_model({expected.name, 1000});
  EXPECT_EQ(count_parameters(*model), expected.imagenet_parameters);
  EXPECT_EQ(model->named_parameters().size() + model->named_buffers().size(), expected.state_entries);
  EXPECT_EQ(ModelZoo::instance().find(expected.name).torchvision_weights_file, expected.weights_file);
  EXPECT_EQ(ModelZoo::instance().find(expected.name).type, ModelType::base);
}

TEST_P(EfficientNetMobileNet, ProducesOneLogitRowPerImage) {
  auto model = create_model({GetParam().name, 3});
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(torch::randn({3, 3, 64, 64})).sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(model->forward(torch::randn({1, 3, 64, 64})).sizes(), (std::vector<int64_t>{1, 3}));
}

INSTANTIATE_TEST_SUITE_P(Zoo, EfficientNetMobileNet, ::testing::ValuesIn(kExpected),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
