// torchvision.models.convnext: ConvNeXt-Tiny, -Small and -Base.
#include "mltk/models/classifier.h"
#include "mltk/models/families.h"
#include "mltk/models/layers.h"
#include "mltk/models/truncated_normal.h"
#include "mltk/models/zoo.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include <optional>
#include <string>
#include <vector>

namespace mltk::models {
namespace {

constexpr double kLayerNormEps = 1e-6;
constexpr double kLayerScale = 1e-6;

// depthwise 7x7 -> channels-last LayerNorm -> Linear(4x) -> GELU -> Linear, scaled per channel and
// added to the input.
class CNBlockImpl : public torch::nn::Module {
 public:
  CNBlockImpl(int64_t dim, double stochastic_depth_prob) {
    // The Permutes and the GELU are parameter-free but hold Sequential indices, as in torchvision.
    block_ = register_module(
        "block",
        torch::nn::Sequential(
            PackedConv2d(torch::nn::Conv2dOptions(dim, dim, 7).padding(3).groups(dim)),
            Permute(std::vector<int64_t>{0, 2, 3, 1}),
            torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps)),
            torch::nn::Linear(dim, 4 * dim), torch::nn::GELU(), torch::nn::Linear(4 * dim, dim),
            Permute(std::vector<int64_t>{0, 3, 1, 2})));
    layer_scale_ = register_parameter("layer_scale", torch::ones({dim, 1, 1}) * kLayerScale);
    stochastic_depth_ =
        register_module("stochastic_depth", StochasticDepth(stochastic_depth_prob, StochasticDepthImpl::Mode::row));
  }

  torch::Tensor forward(torch::Tensor input) {
    return stochastic_depth_(layer_scale_ * block_->forward(input)).add_(input);
  }

 private:
  torch::nn::Sequential block_{nullptr};
  torch::Tensor layer_scale_;
  StochasticDepth stochastic_depth_{nullptr};
};
TORCH_MODULE(CNBlock);

struct StageConfig {
  int64_t input_channels;
  std::optional<int64_t> out_channels;  // none: no downsampling after the stage
  int64_t num_layers;
};

class ConvNeXtImpl : public ClassifierImpl {
 public:
  ConvNeXtImpl(const std::vector<StageConfig>& stages, double stochastic_depth_prob, int64_t num_classes) {
    TORCH_CHECK(!stages.empty(), "The block_setting should not be empty");
    NestedSequential features;
    // Stem: a patchify conv with bias followed by LayerNorm2d (Conv2dNormActivation with padding=0,
    // bias=True, no activation; the shared conv_norm_activation pads and drops the bias, hence inline).
    features->push_back(NestedSequential(
        PackedConv2d(torch::nn::Conv2dOptions(3, stages.front().input_channels, 4).stride(4)),
        LayerNorm2d(stages.front().input_channels, kLayerNormEps)));

    int64_t total_blocks = 0;
    for (const auto& stage : stages) total_blocks += stage.num_layers;
    int64_t block_id = 0;
    for (const auto& stage : stages) {
      NestedSequential blocks;
      for (int64_t i = 0; i < stage.num_layers; ++i, ++block_id) {
        // Stochastic depth grows linearly with depth, from 0 at the first block.
        const double prob = stochastic_depth_prob * static_cast<double>(block_id) / (total_blocks - 1.0);
        blocks->push_back(CNBlock(stage.input_channels, prob));
      }
      features->push_back(blocks);
      if (stage.out_channels)
        features->push_back(NestedSequential(
            LayerNorm2d(stage.input_channels, kLayerNormEps),
            PackedConv2d(torch::nn::Conv2dOptions(stage.input_channels, *stage.out_channels, 2).stride(2))));
    }
    features_ = register_module("features", features);
    avgpool_ = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));

    const int64_t last_channels = stages.back().out_channels.value_or(stages.back().input_channels);
    classifier_ = register_module(
        "classifier", torch::nn::Sequential(LayerNorm2d(last_channels, kLayerNormEps), torch::nn::Flatten(),
                                            torch::nn::Linear(last_channels, num_classes)));

    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        trunc_normal_(conv->weight, 0.0, 0.02);
        torch::nn::init::zeros_(conv->bias);
      } else if (auto* linear = module->as<torch::nn::Linear>()) {
        trunc_normal_(linear->weight, 0.0, 0.02);
        torch::nn::init::zeros_(linear->bias);
      }
    }
  }

  torch::Tensor forward(torch::Tensor images) override {
    return classifier_->forward(avgpool_(features_->forward(images)));
  }

 private:
  NestedSequential features_{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};

void add_convnext(ModelZoo& zoo, const std::string& name, std::vector<StageConfig> stages,
                  double stochastic_depth_prob, const std::string& weights_file) {
  zoo.add({name, ModelType::base,
           [stages, stochastic_depth_prob](const ModelOptions& o) -> Classifier {
             return std::make_shared<ConvNeXtImpl>(stages, stochastic_depth_prob, o.num_classes);
           },
           weights_file});
}

}  // namespace

void register_convnext_family(ModelZoo& zoo) {
  add_convnext(zoo, "convnext_tiny", {{96, 192, 3}, {192, 384, 3}, {384, 768, 9}, {768, std::nullopt, 3}}, 0.1,
               "convnext_tiny-983f1562.pth");
  add_convnext(zoo, "convnext_small", {{96, 192, 3}, {192, 384, 3}, {384, 768, 27}, {768, std::nullopt, 3}}, 0.4,
               "convnext_small-0c510722.pth");
  add_convnext(zoo, "convnext_base", {{128, 256, 3}, {256, 512, 3}, {512, 1024, 27}, {1024, std::nullopt, 3}}, 0.5,
               "convnext_base-6075fbad.pth");
}

}  // namespace mltk::models
