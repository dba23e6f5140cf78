// DenseNet-121/161/169/201 (DenseNet-BC), a port of torchvision 0.14's models/densenet.py with the
// same named children (features.conv0, features.denseblock1.denselayer1.norm1, features.transition1.conv,
// features.norm5, classifier) so that torchvision state dicts load key for key.
#include "mltk/models/families.h"
#include "mltk/models/packed_conv2d.h"
#include "mltk/models/zoo.h"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <array>
#include <string>
#include <vector>

namespace mltk::models {
namespace {

namespace F = torch::nn::functional;

struct DenseNetConfig {
  int64_t growth_rate;
  std::array<int64_t, 4> block_config;  // dense layers per block
  int64_t num_init_features;
  int64_t bn_size = 4;  // the bottleneck has bn_size * growth_rate channels
};

// BN-ReLU-Conv1x1 bottleneck then BN-ReLU-Conv3x3 producing growth_rate new channels.
class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t num_input_features, int64_t growth_rate, int64_t bn_size, double drop_rate)
      : norm1_(register_module("norm1", torch::nn::BatchNorm2d(num_input_features))),
        conv1_(register_module("conv1", PackedConv2d(torch::nn::Conv2dOptions(
                                                              num_input_features, bn_size * growth_rate, 1)
                                                              .bias(false)))),
        norm2_(register_module("norm2", torch::nn::BatchNorm2d(bn_size * growth_rate))),
        conv2_(register_module(
            "conv2",
            PackedConv2d(torch::nn::Conv2dOptions(bn_size * growth_rate, growth_rate, 3).padding(1).bias(false)))),
        drop_rate_(drop_rate) {}

  // `features` is the block input followed by the outputs of all previous layers of the block.
  torch::Tensor forward(const std::vector<torch::Tensor>& features) {
    auto bottleneck = conv1_(norm1_(torch::cat(features, 1)).relu_());
    auto new_features = conv2_(norm2_(bottleneck).relu_());
    if (drop_rate_ > 0)
      new_features = F::dropout(new_features, F::DropoutFuncOptions().p(drop_rate_).training(is_training()));
    return new_features;
  }

 private:
  torch::nn::BatchNorm2d norm1_;
  PackedConv2d conv1_;
  torch::nn::BatchNorm2d norm2_;
  PackedConv2d conv2_;
  double drop_rate_;
};
TORCH_MODULE(DenseLayer);

// Children denselayer1..denselayerN; outputs the concatenation of its input and every layer's output.
class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t num_layers, int64_t num_input_features, int64_t bn_size, int64_t growth_rate,
                 double drop_rate) {
    for (int64_t i = 0; i < num_layers; ++i) {
      layers_.push_back(register_module("denselayer" + std::to_string(i + 1),
                                        DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size,
                                                   drop_rate)));
    }
  }

  torch::Tensor forward(torch::Tensor input) {
    std::vector<torch::Tensor> features{input};
    for (auto& layer : layers_) features.push_back(layer(features));
    return torch::cat(features, 1);
  }

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

// torchvision's _Transition: BN-ReLU-Conv1x1 halving the channels, then a 2x2 average pool.
// (A subclass rather than a nested Sequential, which LibTorch cannot hold inside a Sequential.)
class TransitionImpl : public torch::nn::Module {
 public:
  TransitionImpl(int64_t num_input_features, int64_t num_output_features)
      : norm_(register_module("norm", torch::nn::BatchNorm2d(num_input_features))),
        conv_(register_module(
            "conv", PackedConv2d(torch::nn::Conv2dOptions(num_input_features, num_output_features, 1).bias(false)))),
        pool_(register_module("pool", torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(2).stride(2)))) {}

  torch::Tensor forward(torch::Tensor x) { return pool_(conv_(norm_(x).relu_())); }

 private:
  torch::nn::BatchNorm2d norm_;
  PackedConv2d conv_;
  torch::nn::AvgPool2d pool_;
};
TORCH_MODULE(Transition);

class DenseNetImpl : public ClassifierImpl {
 public:
  DenseNetImpl(const DenseNetConfig& config, int64_t num_classes, double drop_rate) {
    torch::nn::Sequential features;
    features->push_back("conv0", PackedConv2d(torch::nn::Conv2dOptions(3, config.num_init_features, 7)
                                                       .stride(2)
                                                       .padding(3)
                                                       .bias(false)));
    features->push_back("norm0", torch::nn::BatchNorm2d(config.num_init_features));
    features->push_back("relu0", torch::nn::ReLU(torch::nn::ReLUOptions(true)));
    features->push_back("pool0", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));

    int64_t num_features = config.num_init_features;
    const auto& blocks = config.block_config;
    for (size_t i = 0; i < blocks.size(); ++i) {
      const auto index = std::to_string(i + 1);
      features->push_back("denseblock" + index,
                          DenseBlock(blocks[i], num_features, config.bn_size, config.growth_rate, drop_rate));
      num_features += blocks[i] * config.growth_rate;
      if (i + 1 != blocks.size()) {
        features->push_back("transition" + index, Transition(num_features, num_features / 2));
        num_features /= 2;
      }
    }
    features->push_back("norm5", torch::nn::BatchNorm2d(num_features));

    features_ = register_module("features", features);
    classifier_ = register_module("classifier", torch::nn::Linear(num_features, num_classes));
    initialise_weights();
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = features_->forward(x).relu_();
    x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return classifier_(x);
  }

 private:
  // torchvision's "official init from torch repo": He-normal convs in fan_in mode (kaiming_normal_'s
  // defaults), unit BatchNorms, and a zero classifier bias on top of the default Linear weight init.
  void initialise_weights() {
    torch::NoGradGuard no_grad;
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        torch::nn::init::kaiming_normal_(conv->weight);
      } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
        torch::nn::init::ones_(bn->weight);
        torch::nn::init::zeros_(bn->bias);
      } else if (auto* linear = module->as<torch::nn::Linear>()) {
        torch::nn::init::zeros_(linear->bias);
      }
    }
  }

  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

ArchitectureEntry densenet_entry(std::string name, DenseNetConfig config, std::string weights_file) {
  return {std::move(name), ModelType::base,
          [config](const ModelOptions& o) -> Classifier {
            // torchvision's drop_rate (dropout after every dense layer) defaults to 0.
            return std::make_shared<DenseNetImpl>(config, o.num_classes, o.dropout.value_or(0.0));
          },
          std::move(weights_file)};
}

}  // namespace

void register_densenet_family(ModelZoo& zoo) {
  zoo.add(densenet_entry("densenet121", {32, {6, 12, 24, 16}, 64}, "densenet121-a639ec97.pth"));
  zoo.add(densenet_entry("densenet161", {48, {6, 12, 36, 24}, 96}, "densenet161-8d451a50.pth"));
  zoo.add(densenet_entry("densenet169", {32, {6, 12, 32, 32}, 64}, "densenet169-b2777c0a.pth"));
  zoo.add(densenet_entry("densenet201", {32, {6, 12, 48, 32}, 64}, "densenet201-c1103571.pth"));
}

}  // namespace mltk::models
