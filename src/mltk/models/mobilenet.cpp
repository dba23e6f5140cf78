// MobileNetV2 and MobileNetV3 (small, large), mirroring torchvision.models.mobilenetv2 / mobilenetv3
// module for module so that torchvision's state dicts load unchanged.
#include "mltk/models/families.h"
#include "mltk/models/layers.h"
#include "mltk/models/zoo.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace mltk::models {
namespace {

// Both MobileNets share torchvision's initialisation; only the classifier differs from EfficientNet's.
void initialise_weights(torch::nn::Module& model) {
  namespace init = torch::nn::init;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut);
      if (conv->bias.defined()) init::zeros_(conv->bias);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      init::ones_(bn->weight);
      init::zeros_(bn->bias);
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      init::normal_(linear->weight, 0.0, 0.01);
      init::zeros_(linear->bias);
    }
  }
}

ConvNormActivationOptions cna(int64_t kernel_size, int64_t stride, Activation activation, const NormFactory& norm,
                              int64_t groups = 1, int64_t dilation = 1) {
  ConvNormActivationOptions options;
  options.kernel_size = kernel_size;
  options.stride = stride;
  options.groups = groups;
  options.dilation = dilation;
  options.activation = activation;
  options.norm = norm;
  return options;
}

// ---------------------------------------------------------------------------------------------
// MobileNetV2

// torchvision.models.mobilenetv2.InvertedResidual. Its projection is a bare Conv2d + BatchNorm2d
// (not a Conv2dNormActivation), which is why its keys read conv.N.weight rather than conv.N.0.weight.
class V2InvertedResidualImpl : public torch::nn::Module {
 public:
  V2InvertedResidualImpl(int64_t inp, int64_t oup, int64_t stride, int64_t expand_ratio, const NormFactory& norm)
      : use_residual_(stride == 1 && inp == oup) {
    if (stride != 1 && stride != 2) throw std::invalid_argument("InvertedResidual: stride must be 1 or 2");
    const int64_t hidden = inp * expand_ratio;
    torch::nn::Sequential layers;
    if (expand_ratio != 1) layers->push_back(conv_norm_activation(inp, hidden, cna(1, 1, Activation::relu6, norm)));
    layers->push_back(conv_norm_activation(hidden, hidden, cna(3, stride, Activation::relu6, norm, hidden)));
    layers->push_back(PackedConv2d(torch::nn::Conv2dOptions(hidden, oup, 1).bias(false)));
    layers->push_back(norm(oup));
    conv_ = register_module("conv", layers);
  }

  torch::Tensor forward(torch::Tensor x) {
    if (use_residual_) return x + conv_->forward(x);
    return conv_->forward(x);
  }

 private:
  bool use_residual_;
  torch::nn::Sequential conv_{nullptr};
};
TORCH_MODULE(V2InvertedResidual);

class MobileNetV2Impl : public ClassifierImpl {
 public:
  MobileNetV2Impl(int64_t num_classes, double dropout, double width_mult = 1.0, int64_t round_nearest = 8) {
    const NormFactory norm = batch_norm();
    struct Stage {
      int64_t t, c, n, s;  // expansion, output channels, repeats, first stride
    };
    static const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                   {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int64_t input_channel = make_divisible(32 * width_mult, round_nearest);
    const int64_t last_channel = make_divisible(1280 * std::max(1.0, width_mult), round_nearest);

    torch::nn::Sequential features;
    features->push_back(conv_norm_activation(3, input_channel, cna(3, 2, Activation::relu6, norm)));
    for (const auto& stage : stages) {
      const int64_t output_channel = make_divisible(stage.c * width_mult, round_nearest);
      for (int64_t i = 0; i < stage.n; ++i) {
        features->push_back(V2InvertedResidual(input_channel, output_channel, i == 0 ? stage.s : 1, stage.t, norm));
        input_channel = output_channel;
      }
    }
    features->push_back(conv_norm_activation(input_channel, last_channel, cna(1, 1, Activation::relu6, norm)));

    features_ = register_module("features", features);
    // torchvision's Dropout here is not in-place, unlike MobileNetV3's and EfficientNet's.
    classifier_ = register_module("classifier",
                                  torch::nn::Sequential(torch::nn::Dropout(torch::nn::DropoutOptions(dropout)),
                                                        torch::nn::Linear(last_channel, num_classes)));
    initialise_weights(*this);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = features_->forward(x);
    // torchvision pools functionally here, so there is no avgpool child in the state dict.
    x = torch::nn::functional::adaptive_avg_pool2d(x, torch::nn::functional::AdaptiveAvgPool2dFuncOptions(1));
    x = x.flatten(1);
    return classifier_->forward(x);
  }

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// MobileNetV3

// One row of Tables 1 and 2 of the MobileNetV3 paper.
struct V3BlockConfig {
  int64_t input_channels;
  int64_t kernel;
  int64_t expanded_channels;
  int64_t out_channels;
  bool use_se;
  bool use_hardswish;
  int64_t stride;
  int64_t dilation;
};

// torchvision.models.mobilenetv3.InvertedResidual.
class V3InvertedResidualImpl : public torch::nn::Module {
 public:
  V3InvertedResidualImpl(const V3BlockConfig& cnf, const NormFactory& norm)
      : use_residual_(cnf.stride == 1 && cnf.input_channels == cnf.out_channels) {
    if (cnf.stride < 1 || cnf.stride > 2) throw std::invalid_argument("InvertedResidual: illegal stride value");
    const Activation activation = cnf.use_hardswish ? Activation::hardswish : Activation::relu;
    torch::nn::Sequential layers;
    if (cnf.expanded_channels != cnf.input_channels)
      layers->push_back(
          conv_norm_activation(cnf.input_channels, cnf.expanded_channels, cna(1, 1, activation, norm)));
    // Dilated blocks keep the resolution instead of striding.
    const int64_t stride = cnf.dilation > 1 ? 1 : cnf.stride;
    layers->push_back(conv_norm_activation(
        cnf.expanded_channels, cnf.expanded_channels,
        cna(cnf.kernel, stride, activation, norm, cnf.expanded_channels, cnf.dilation)));
    if (cnf.use_se) {
      const int64_t squeeze = make_divisible(static_cast<double>(cnf.expanded_channels / 4), 8);
      layers->push_back(SqueezeExcitation(cnf.expanded_channels, squeeze, Activation::relu, Activation::hardsigmoid));
    }
    layers->push_back(
        conv_norm_activation(cnf.expanded_channels, cnf.out_channels, cna(1, 1, Activation::none, norm)));
    block_ = register_module("block", layers);
  }

  torch::Tensor forward(torch::Tensor input) {
    auto result = block_->forward(input);
    if (use_residual_) result += input;
    return result;
  }

 private:
  bool use_residual_;
  torch::nn::Sequential block_{nullptr};
};
TORCH_MODULE(V3InvertedResidual);

class MobileNetV3Impl : public ClassifierImpl {
 public:
  MobileNetV3Impl(const std::vector<V3BlockConfig>& blocks, int64_t last_channel, int64_t num_classes,
                  double dropout) {
    // The TensorFlow reference trains with these BatchNorm settings; torchvision keeps them.
    const NormFactory norm = batch_norm(0.001, 0.01);
    torch::nn::Sequential features;
    features->push_back(
        conv_norm_activation(3, blocks.front().input_channels, cna(3, 2, Activation::hardswish, norm)));
    for (const auto& cnf : blocks) features->push_back(V3InvertedResidual(cnf, norm));
    const int64_t last_in = blocks.back().out_channels;
    const int64_t last_out = 6 * last_in;
    features->push_back(conv_norm_activation(last_in, last_out, cna(1, 1, Activation::hardswish, norm)));

    features_ = register_module("features", features);
    avgpool_ = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    torch::nn::Sequential classifier;
    classifier->push_back(torch::nn::Linear(last_out, last_channel));
    classifier->push_back(make_activation(Activation::hardswish, /*inplace=*/true));
    classifier->push_back(torch::nn::Dropout(torch::nn::DropoutOptions(dropout).inplace(true)));
    classifier->push_back(torch::nn::Linear(last_channel, num_classes));
    classifier_ = register_module("classifier", classifier);
    initialise_weights(*this);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = features_->forward(x);
    x = avgpool_(x);
    x = x.flatten(1);
    return classifier_->forward(x);
  }

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};

// The paper's channel counts, rounded as torchvision's InvertedResidualConfig.adjust_channels does.
V3BlockConfig v3_block(int64_t input_channels, int64_t kernel, int64_t expanded_channels, int64_t out_channels,
                       bool use_se, const char* activation, int64_t stride, int64_t dilation,
                       double width_mult = 1.0) {
  auto adjust = [width_mult](int64_t channels) { return make_divisible(channels * width_mult, 8); };
  return {adjust(input_channels), kernel, adjust(expanded_channels), adjust(out_channels), use_se,
          std::string(activation) == "HS", stride, dilation};
}

Classifier mobilenet_v3_large(int64_t num_classes, double dropout) {
  const std::vector<V3BlockConfig> blocks = {
      v3_block(16, 3, 16, 16, false, "RE", 1, 1),     v3_block(16, 3, 64, 24, false, "RE", 2, 1),
      v3_block(24, 3, 72, 24, false, "RE", 1, 1),     v3_block(24, 5, 72, 40, true, "RE", 2, 1),
      v3_block(40, 5, 120, 40, true, "RE", 1, 1),     v3_block(40, 5, 120, 40, true, "RE", 1, 1),
      v3_block(40, 3, 240, 80, false, "HS", 2, 1),    v3_block(80, 3, 200, 80, false, "HS", 1, 1),
      v3_block(80, 3, 184, 80, false, "HS", 1, 1),    v3_block(80, 3, 184, 80, false, "HS", 1, 1),
      v3_block(80, 3, 480, 112, true, "HS", 1, 1),    v3_block(112, 3, 672, 112, true, "HS", 1, 1),
      v3_block(112, 5, 672, 160, true, "HS", 2, 1),   v3_block(160, 5, 960, 160, true, "HS", 1, 1),
      v3_block(160, 5, 960, 160, true, "HS", 1, 1),
  };
  return std::make_shared<MobileNetV3Impl>(blocks, make_divisible(1280, 8), num_classes, dropout);
}

Classifier mobilenet_v3_small(int64_t num_classes, double dropout) {
  const std::vector<V3BlockConfig> blocks = {
      v3_block(16, 3, 16, 16, true, "RE", 2, 1),   v3_block(16, 3, 72, 24, false, "RE", 2, 1),
      v3_block(24, 3, 88, 24, false, "RE", 1, 1),  v3_block(24, 5, 96, 40, true, "HS", 2, 1),
      v3_block(40, 5, 240, 40, true, "HS", 1, 1),  v3_block(40, 5, 240, 40, true, "HS", 1, 1),
      v3_block(40, 5, 120, 48, true, "HS", 1, 1),  v3_block(48, 5, 144, 48, true, "HS", 1, 1),
      v3_block(48, 5, 288, 96, true, "HS", 2, 1),  v3_block(96, 5, 576, 96, true, "HS", 1, 1),
      v3_block(96, 5, 576, 96, true, "HS", 1, 1),
  };
  return std::make_shared<MobileNetV3Impl>(blocks, make_divisible(1024, 8), num_classes, dropout);
}

}  // namespace

void register_mobilenet_family(ModelZoo& zoo) {
  zoo.add({"mobilenet_v2", ModelType::base,
           [](const ModelOptions& o) -> Classifier {
             return std::make_shared<MobileNetV2Impl>(o.num_classes, o.dropout.value_or(0.2));
           },
           "mobilenet_v2-7ebf99e0.pth"});
  zoo.add({"mobilenet_v3_small", ModelType::base,
           [](const ModelOptions& o) -> Classifier { return mobilenet_v3_small(o.num_classes, o.dropout.value_or(0.2)); },
           "mobilenet_v3_small-047dcff4.pth"});
  zoo.add({"mobilenet_v3_large", ModelType::base,
           [](const ModelOptions& o) -> Classifier { return mobilenet_v3_large(o.num_classes, o.dropout.value_or(0.2)); },
           "mobilenet_v3_large-5c1a4163.pth"});
}

}  // namespace mltk::models
