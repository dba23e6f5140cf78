// EfficientNet V1 (B0-B3), mirroring torchvision.models.efficientnet module for module so that
// torchvision's state dicts load unchanged.
#include "mltk/models/families.h"
#include "mltk/models/layers.h"
#include "mltk/models/zoo.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace mltk::models {
namespace {

// One row of Table 1 of the EfficientNet paper, already scaled by the width and depth multipliers.
struct StageConfig {
  double expand_ratio;
  int64_t kernel;
  int64_t stride;
  int64_t input_channels;
  int64_t out_channels;
  int64_t num_layers;
};

int64_t adjust_channels(int64_t channels, double multiplier) { return make_divisible(channels * multiplier, 8); }

int64_t adjust_depth(int64_t num_layers, double depth_mult) {
  return static_cast<int64_t>(std::ceil(num_layers * depth_mult));
}

std::vector<StageConfig> v1_stages(double width_mult, double depth_mult) {
  struct Row {
    double expand_ratio;
    int64_t kernel, stride, input_channels, out_channels, num_layers;
  };
  static const Row rows[] = {
      {1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},  {6, 3, 2, 40, 80, 3},
      {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1},
  };
  std::vector<StageConfig> stages;
  for (const auto& r : rows)
    stages.push_back({r.expand_ratio, r.kernel, r.stride, adjust_channels(r.input_channels, width_mult),
                      adjust_channels(r.out_channels, width_mult), adjust_depth(r.num_layers, depth_mult)});
  return stages;
}

// torchvision.models.efficientnet.MBConv: [expand 1x1], depthwise, squeeze-excitation, project 1x1,
// with a stochastic-depth residual when the shape is preserved.
class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(const StageConfig& cnf, double stochastic_depth_prob, const NormFactory& norm)
      : use_residual_(cnf.stride == 1 && cnf.input_channels == cnf.out_channels) {
    if (cnf.stride < 1 || cnf.stride > 2) throw std::invalid_argument("MBConv: illegal stride value");
    torch::nn::Sequential layers;
    const int64_t expanded = adjust_channels(cnf.input_channels, cnf.expand_ratio);
    if (expanded != cnf.input_channels) {
      ConvNormActivationOptions expand;
      expand.kernel_size = 1;
      expand.activation = Activation::silu;
      expand.norm = norm;
      layers->push_back(conv_norm_activation(cnf.input_channels, expanded, expand));
    }
    ConvNormActivationOptions depthwise;
    depthwise.kernel_size = cnf.kernel;
    depthwise.stride = cnf.stride;
    depthwise.groups = expanded;
    depthwise.activation = Activation::silu;
    depthwise.norm = norm;
    layers->push_back(conv_norm_activation(expanded, expanded, depthwise));
    // The squeeze width follows the block's input channels, not the expanded ones.
    const int64_t squeeze = std::max<int64_t>(1, cnf.input_channels / 4);
    layers->push_back(SqueezeExcitation(expanded, squeeze, Activation::silu, Activation::sigmoid));
    ConvNormActivationOptions project;
    project.kernel_size = 1;
    project.activation = Activation::none;
    project.norm = norm;
    layers->push_back(conv_norm_activation(expanded, cnf.out_channels, project));

    block_ = register_module("block", layers);
    stochastic_depth_ =
        register_module("stochastic_depth", StochasticDepth(stochastic_depth_prob, StochasticDepthImpl::Mode::row));
  }

  torch::Tensor forward(torch::Tensor input) {
    auto result = block_->forward(input);
    if (use_residual_) {
      result = stochastic_depth_(result);
      result += input;
    }
    return result;
  }

 private:
  bool use_residual_;
  torch::nn::Sequential block_{nullptr};
  StochasticDepth stochastic_depth_{nullptr};
};
TORCH_MODULE(MBConv);

// torchvision.models.efficientnet.EfficientNet restricted to the V1 (MBConv-only) configurations.
class EfficientNetImpl : public ClassifierImpl {
 public:
  EfficientNetImpl(const std::vector<StageConfig>& stages, double dropout, double stochastic_depth_prob,
                   int64_t num_classes, const NormFactory& norm) {
    torch::nn::Sequential features;
    ConvNormActivationOptions stem;
    stem.kernel_size = 3;
    stem.stride = 2;
    stem.activation = Activation::silu;
    stem.norm = norm;
    features->push_back(conv_norm_activation(3, stages.front().input_channels, stem));

    int64_t total_blocks = 0;
    for (const auto& stage : stages) total_blocks += stage.num_layers;
    int64_t block_id = 0;
    for (const auto& stage : stages) {
      NestedSequential blocks;
      for (int64_t i = 0; i < stage.num_layers; ++i) {
        StageConfig block_cnf = stage;
        if (i > 0) {
          block_cnf.input_channels = block_cnf.out_channels;
          block_cnf.stride = 1;
        }
        // Deeper blocks are dropped more often: the probability grows linearly with depth.
        const double sd_prob = stochastic_depth_prob * static_cast<double>(block_id) / total_blocks;
        blocks->push_back(MBConv(block_cnf, sd_prob, norm));
        ++block_id;
      }
      features->push_back(blocks);
    }

    const int64_t last_in = stages.back().out_channels;
    const int64_t last_out = 4 * last_in;
    ConvNormActivationOptions head;
    head.kernel_size = 1;
    head.activation = Activation::silu;
    head.norm = norm;
    features->push_back(conv_norm_activation(last_in, last_out, head));

    features_ = register_module("features", features);
    avgpool_ = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    // torchvision's dropout here is in-place; on the flattened view that makes the tracer warn on
    // every export. Out-of-place costs one [batch, channels] copy in training and is otherwise equal.
    classifier_ = register_module(
        "classifier", torch::nn::Sequential(torch::nn::Dropout(torch::nn::DropoutOptions(dropout)),
                                            torch::nn::Linear(last_out, num_classes)));
    initialise_weights();
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = features_->forward(x);
    x = avgpool_(x);
    x = x.flatten(1);
    return classifier_->forward(x);
  }

 private:
  void initialise_weights() {
    namespace init = torch::nn::init;
    for (const auto& module : modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut);
        if (conv->bias.defined()) init::zeros_(conv->bias);
      } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
        init::ones_(bn->weight);
        init::zeros_(bn->bias);
      } else if (auto* linear = module->as<torch::nn::Linear>()) {
        const double range = 1.0 / std::sqrt(static_cast<double>(linear->options.out_features()));
        init::uniform_(linear->weight, -range, range);
        init::zeros_(linear->bias);
      }
    }
  }

  torch::nn::Sequential features_{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};

// torchvision's EfficientNet default; every V1 variant keeps it.
constexpr double kStochasticDepthProb = 0.2;

struct V1Variant {
  const char* name;
  double width_mult;
  double depth_mult;
  double dropout;
  const char* weights_file;
};

}  // namespace

void register_efficientnet_family(ModelZoo& zoo) {
  // B0-B3 keep nn.BatchNorm2d's defaults; only B5-B7 switch to eps 1e-3 / momentum 0.01 in torchvision.
  static const V1Variant variants[] = {
      {"efficientnet_b0", 1.0, 1.0, 0.2, "efficientnet_b0_rwightman-3dd342df.pth"},
      {"efficientnet_b1", 1.0, 1.1, 0.2, "efficientnet_b1-c27df63c.pth"},
      {"efficientnet_b2", 1.1, 1.2, 0.3, "efficientnet_b2_rwightman-bcdf34b7.pth"},
      {"efficientnet_b3", 1.2, 1.4, 0.3, "efficientnet_b3_rwightman-cf984f9c.pth"},
  };
  for (const auto& v : variants) {
    zoo.add({v.name, ModelType::base,
             [v](const ModelOptions& o) -> Classifier {
               return std::make_shared<EfficientNetImpl>(v1_stages(v.width_mult, v.depth_mult),
                                                         o.dropout.value_or(v.dropout), kStochasticDepthProb,
                                                         o.num_classes, batch_norm());
             },
             v.weights_file});
  }
}

}  // namespace mltk::models
