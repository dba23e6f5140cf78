// VGG-11/13/16/19 without batch norm, a port of torchvision 0.14's models/vgg.py. ReLU and max-pool
// layers are real Sequential entries here because they take up indices of `features` and
// `classifier`, and torchvision's keys (features.3.weight, classifier.6.bias) count them.
#include "mltk/models/families.h"
#include "mltk/models/packed_conv2d.h"
#include "mltk/models/zoo.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <vector>

namespace mltk::models {
namespace {

// torchvision's cfgs: a positive entry is a 3x3 convolution with that many output channels,
// kMaxPool a 2x2 max-pool.
constexpr int64_t kMaxPool = 0;
using FeatureConfig = std::vector<int64_t>;

// torchvision's make_layers(cfg, batch_norm=False).
torch::nn::Sequential make_features(const FeatureConfig& config) {
  torch::nn::Sequential features;
  int64_t in_channels = 3;
  for (const int64_t entry : config) {
    if (entry == kMaxPool) {
      features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    } else {
      features->push_back(PackedConv2d(torch::nn::Conv2dOptions(in_channels, entry, 3).padding(1)));
      features->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
      in_channels = entry;
    }
  }
  return features;
}

class VggImpl : public ClassifierImpl {
 public:
  VggImpl(const FeatureConfig& config, int64_t num_classes, double dropout)
      : features_(register_module("features", make_features(config))),
        avgpool_(register_module("avgpool", torch::nn::AdaptiveAvgPool2d(7))),
        classifier_(register_module(
            "classifier",
            torch::nn::Sequential(torch::nn::Linear(512 * 7 * 7, 4096), torch::nn::ReLU(torch::nn::ReLUOptions(true)),
                                  torch::nn::Dropout(dropout), torch::nn::Linear(4096, 4096),
                                  torch::nn::ReLU(torch::nn::ReLUOptions(true)), torch::nn::Dropout(dropout),
                                  torch::nn::Linear(4096, num_classes)))) {
    initialise_weights();
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = features_->forward(x);
    x = avgpool_(x).flatten(1);
    return classifier_->forward(x);
  }

 private:
  // torchvision's init_weights=True branch (the default when no pretrained weights are requested).
  void initialise_weights() {
    torch::NoGradGuard no_grad;
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
        torch::nn::init::zeros_(conv->bias);
      } else if (auto* linear = module->as<torch::nn::Linear>()) {
        torch::nn::init::normal_(linear->weight, 0.0, 0.01);
        torch::nn::init::zeros_(linear->bias);
      }
    }
  }

  torch::nn::Sequential features_;
  torch::nn::AdaptiveAvgPool2d avgpool_;
  torch::nn::Sequential classifier_;
};

ArchitectureEntry vgg_entry(std::string name, FeatureConfig config, std::string weights_file) {
  return {std::move(name), ModelType::base,
          [config](const ModelOptions& o) -> Classifier {
            return std::make_shared<VggImpl>(config, o.num_classes, o.dropout.value_or(0.5));
          },
          std::move(weights_file)};
}

constexpr int64_t M = kMaxPool;

}  // namespace

void register_vgg_family(ModelZoo& zoo) {
  // torchvision's configurations "A", "B", "D" and "E".
  zoo.add(vgg_entry("vgg11", {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}, "vgg11-8a719046.pth"));
  zoo.add(vgg_entry("vgg13", {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}, "vgg13-19584684.pth"));
  zoo.add(vgg_entry("vgg16", {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M},
                    "vgg16-397923af.pth"));
  zoo.add(vgg_entry("vgg19",
                    {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M},
                    "vgg19-dcbb9e9d.pth"));
}

}  // namespace mltk::models
