#include "mltk/models/layers.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include <stdexcept>

namespace mltk::models {
namespace {

// Wraps a tensor function so that it can sit in a Sequential at the index torchvision gives it.
class TensorFunctionImpl : public torch::nn::Module {
 public:
  explicit TensorFunctionImpl(std::function<torch::Tensor(torch::Tensor)> fn) : fn_(std::move(fn)) {}
  torch::Tensor forward(torch::Tensor input) { return fn_(std::move(input)); }

 private:
  std::function<torch::Tensor(torch::Tensor)> fn_;
};
TORCH_MODULE(TensorFunction);

}  // namespace

torch::nn::AnyModule make_activation(Activation activation, bool inplace) {
  switch (activation) {
    case Activation::relu: return torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions(inplace)));
    case Activation::relu6: return torch::nn::AnyModule(torch::nn::ReLU6(torch::nn::ReLU6Options(inplace)));
    case Activation::silu:
      if (inplace) return torch::nn::AnyModule(TensorFunction([](torch::Tensor x) { return torch::silu_(x); }));
      return torch::nn::AnyModule(torch::nn::SiLU());
    case Activation::sigmoid: return torch::nn::AnyModule(torch::nn::Sigmoid());
    case Activation::gelu: return torch::nn::AnyModule(torch::nn::GELU());
    case Activation::hardswish:
      return torch::nn::AnyModule(TensorFunction([inplace](torch::Tensor x) {
        return inplace ? torch::hardswish_(x) : torch::hardswish(x);
      }));
    case Activation::hardsigmoid:
      return torch::nn::AnyModule(TensorFunction([](torch::Tensor x) { return torch::hardsigmoid(x); }));
    case Activation::none: break;
  }
  throw std::logic_error("make_activation: no module for Activation::none");
}

NormFactory batch_norm(double eps, double momentum) {
  return [eps, momentum](int64_t channels) {
    return torch::nn::AnyModule(
        torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(eps).momentum(momentum)));
  };
}

NormFactory layer_norm_2d(double eps) {
  return [eps](int64_t channels) { return torch::nn::AnyModule(LayerNorm2d(channels, eps)); };
}

NestedSequential conv_norm_activation(int64_t in_channels, int64_t out_channels,
                                      const ConvNormActivationOptions& options) {
  const int64_t padding = (options.kernel_size - 1) / 2 * options.dilation;
  NestedSequential block;
  block->push_back(PackedConv2d(torch::nn::Conv2dOptions(in_channels, out_channels, options.kernel_size)
                                         .stride(options.stride)
                                         .padding(padding)
                                         .dilation(options.dilation)
                                         .groups(options.groups)
                                         .bias(!options.norm)));
  if (options.norm) block->push_back(options.norm(out_channels));
  // torchvision's Conv2dNormActivation builds its activation with inplace=True.
  if (options.activation != Activation::none) block->push_back(make_activation(options.activation, /*inplace=*/true));
  return block;
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t input_channels, int64_t squeeze_channels,
                                             Activation activation, Activation scale_activation)
    : avgpool_(register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1))),
      fc1_(register_module("fc1", PackedConv2d(torch::nn::Conv2dOptions(input_channels, squeeze_channels, 1)))),
      fc2_(register_module("fc2", PackedConv2d(torch::nn::Conv2dOptions(squeeze_channels, input_channels, 1)))),
      activation_(make_activation(activation, /*inplace=*/false)),
      scale_activation_(make_activation(scale_activation, /*inplace=*/false)) {
  register_module("activation", activation_.ptr());
  register_module("scale_activation", scale_activation_.ptr());
}

torch::Tensor SqueezeExcitationImpl::forward(torch::Tensor input) {
  auto scale = avgpool_(input);
  scale = activation_.forward(fc1_(scale));
  scale = scale_activation_.forward(fc2_(scale));
  return scale * input;
}

StochasticDepthImpl::StochasticDepthImpl(double probability, Mode mode) : probability_(probability), mode_(mode) {
  if (probability < 0.0 || probability > 1.0)
    throw std::invalid_argument("stochastic depth probability must be in [0, 1]");
}

torch::Tensor StochasticDepthImpl::forward(torch::Tensor input) {
  if (!is_training() || probability_ == 0.0) return input;
  const double survival_rate = 1.0 - probability_;
  std::vector<int64_t> size(input.dim(), 1);
  if (mode_ == Mode::row) size[0] = input.size(0);
  auto noise = torch::empty(size, input.options()).bernoulli_(survival_rate);
  if (survival_rate > 0.0) noise.div_(survival_rate);
  return input * noise;
}

LayerNorm2dImpl::LayerNorm2dImpl(int64_t channels, double eps) : channels_(channels), eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor LayerNorm2dImpl::forward(torch::Tensor input) {
  auto x = input.permute({0, 2, 3, 1});
  x = torch::layer_norm(x, {channels_}, weight_, bias_, eps_);
  return x.permute({0, 3, 1, 2});
}

int64_t make_divisible(double value, int64_t divisor, int64_t min_value) {
  if (min_value < 0) min_value = divisor;
  int64_t new_value = std::max<int64_t>(min_value, static_cast<int64_t>(value + divisor / 2.0) / divisor * divisor);
  if (new_value < 0.9 * value) new_value += divisor;
  return new_value;
}

}  // namespace mltk::models
