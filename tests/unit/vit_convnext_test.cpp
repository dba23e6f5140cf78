// Structure checks for the ViT and ConvNeXt families against torchvision 0.14 (numerical parity
// against torchvision itself needs Python and is not part of the unit tests).
#include "mltk/models/zoo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

using namespace mltk::models;

namespace {

// sum(p.numel() for p in torchvision.models.NAME(num_classes=2).parameters()). vit_l_16 (303303682)
// and convnext_base (87568514) are left out: initialising them dominates the suite's run time.
const std::map<std::string, int64_t> kTorchvisionParameterCounts = {
    {"vit_b_16", 85800194},
    {"vit_b_32", 87456770},
    {"convnext_tiny", 27821666},
    {"convnext_small", 49456226},
};

std::vector<int64_t> shape_of(const Classifier& model, const std::string& key) {
  auto* tensor = model->named_parameters().find(key);
  if (!tensor) return {};
  return tensor->sizes().vec();
}

}  // namespace

TEST(VitConvnext, ParameterCountsMatchTorchvision) {
  for (const auto& [name, expected] : kTorchvisionParameterCounts)
    EXPECT_EQ(count_parameters(*create_model({name, 2})), expected) << name;
}

TEST(VitConvnext, StateDictKeysFollowTorchvision) {
  auto vit = create_model({"vit_b_32", 2});
  EXPECT_EQ(shape_of(vit, "class_token"), (std::vector<int64_t>{1, 1, 768}));
  EXPECT_EQ(shape_of(vit, "conv_proj.weight"), (std::vector<int64_t>{768, 3, 32, 32}));
  EXPECT_EQ(shape_of(vit, "encoder.pos_embedding"), (std::vector<int64_t>{1, 50, 768}));
  EXPECT_EQ(shape_of(vit, "encoder.layers.encoder_layer_11.self_attention.in_proj_weight"),
            (std::vector<int64_t>{2304, 768}));
  EXPECT_EQ(shape_of(vit, "encoder.layers.encoder_layer_0.self_attention.out_proj.bias"), (std::vector<int64_t>{768}));
  EXPECT_EQ(shape_of(vit, "encoder.layers.encoder_layer_0.mlp.3.weight"), (std::vector<int64_t>{768, 3072}));
  EXPECT_EQ(shape_of(vit, "heads.head.weight"), (std::vector<int64_t>{2, 768}));

  auto convnext = create_model({"convnext_tiny", 2});
  EXPECT_EQ(shape_of(convnext, "features.0.1.weight"), (std::vector<int64_t>{96}));
  EXPECT_EQ(shape_of(convnext, "features.1.0.block.0.weight"), (std::vector<int64_t>{96, 1, 7, 7}));
  EXPECT_EQ(shape_of(convnext, "features.1.0.block.5.weight"), (std::vector<int64_t>{96, 384}));
  EXPECT_EQ(shape_of(convnext, "features.1.0.layer_scale"), (std::vector<int64_t>{96, 1, 1}));
  EXPECT_EQ(shape_of(convnext, "features.6.1.weight"), (std::vector<int64_t>{768, 384, 2, 2}));
  EXPECT_EQ(shape_of(convnext, "classifier.2.weight"), (std::vector<int64_t>{2, 768}));
}

TEST(VitConvnext, ForwardIsIndependentOfBatchSize) {
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({3, 3, 224, 224});
  for (const std::string name : {"vit_b_32", "convnext_tiny"}) {
    auto model = create_model({name, 5});
    for (auto& p : model->parameters()) p.add_(0.02 * torch::randn_like(p));  // ViT's head starts at zero
    model->eval();
    const auto batch = model->forward(images);
    ASSERT_EQ(batch.sizes(), (torch::IntArrayRef{3, 5})) << name;
    EXPECT_TRUE(torch::allclose(model->forward(images.narrow(0, 2, 1)), batch.narrow(0, 2, 1), 1e-4, 1e-5)) << name;
  }
}

TEST(VitConvnext, VitRejectsOtherImageSizes) {
  auto model = create_model({"vit_b_32", 2});
  EXPECT_THROW(model->forward(torch::zeros({1, 3, 192, 224})), c10::Error);
}

TEST(VitConvnext, RegistersTorchvisionWeightFiles) {
  const auto& zoo = ModelZoo::instance();
  EXPECT_EQ(zoo.find("vit_b_16").torchvision_weights_file, "vit_b_16-c867db91.pth");
  EXPECT_EQ(zoo.find("convnext_base").torchvision_weights_file, "convnext_base-6075fbad.pth");
}
