#pragma once
// Building blocks shared by several torchvision architectures (torchvision.ops.misc and friends),
// with the same child names so that state-dict keys match torchvision's.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include "mltk/models/packed_conv2d.h"
#include <torch/nn/modules/pooling.h>

#include <functional>

namespace mltk::models {

enum class Activation { none, relu, relu6, silu, hardswish, hardsigmoid, sigmoid, gelu };

// A parameter-free module applying `activation`; usable inside torch::nn::Sequential. In place where
// torchvision's layer is (inplace=True): that spares an allocation per call, and the values are equal.
torch::nn::AnyModule make_activation(Activation activation, bool inplace);

// Normalisation layer after the convolution of conv_norm_activation.
using NormFactory = std::function<torch::nn::AnyModule(int64_t channels)>;
NormFactory batch_norm(double eps = 1e-5, double momentum = 0.1);
NormFactory layer_norm_2d(double eps = 1e-6);

struct ConvNormActivationOptions {
  int64_t kernel_size = 3;
  int64_t stride = 1;
  int64_t groups = 1;
  int64_t dilation = 1;
  Activation activation = Activation::relu;
  NormFactory norm = batch_norm();  // empty: no norm layer, and the convolution gets a bias
};

// A Sequential that can itself be an element of a Sequential, as torchvision nests nn.Sequential
// freely; torch::nn::Sequential cannot be, because its forward() is a template.
class NestedSequentialImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor input) { return SequentialImpl::forward(std::move(input)); }
};
TORCH_MODULE(NestedSequential);

// torchvision.ops.Conv2dNormActivation: Sequential(conv, [norm], [activation]), "same" padding.
NestedSequential conv_norm_activation(int64_t in_channels, int64_t out_channels,
                                      const ConvNormActivationOptions& options);

// torchvision.ops.SqueezeExcitation: avgpool, fc1, activation, fc2, scale_activation.
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t input_channels, int64_t squeeze_channels, Activation activation,
                        Activation scale_activation);
  torch::Tensor forward(torch::Tensor input);

 private:
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  PackedConv2d fc1_{nullptr}, fc2_{nullptr};
  torch::nn::AnyModule activation_, scale_activation_;
};
TORCH_MODULE(SqueezeExcitation);

// torchvision.ops.StochasticDepth: identity in eval mode; drops whole residual branches in training.
class StochasticDepthImpl : public torch::nn::Module {
 public:
  enum class Mode { batch, row };
  StochasticDepthImpl(double probability, Mode mode);
  torch::Tensor forward(torch::Tensor input);

 private:
  double probability_;
  Mode mode_;
};
TORCH_MODULE(StochasticDepth);

// torchvision.models.convnext.LayerNorm2d: LayerNorm over channels of an NCHW tensor.
class LayerNorm2dImpl : public torch::nn::Module {
 public:
  LayerNorm2dImpl(int64_t channels, double eps);
  torch::Tensor forward(torch::Tensor input);

 private:
  torch::Tensor weight_, bias_;
  int64_t channels_;
  double eps_;
};
TORCH_MODULE(LayerNorm2d);

// torchvision.ops.Permute.
class PermuteImpl : public torch::nn::Module {
 public:
  explicit PermuteImpl(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  torch::Tensor forward(torch::Tensor input) { return input.permute(dims_); }

 private:
  std::vector<int64_t> dims_;
};
TORCH_MODULE(Permute);

// torchvision's _make_divisible: round `value` to a multiple of `divisor`, not going below 90%.
int64_t make_divisible(double value, int64_t divisor, int64_t min_value = -1);

}  // namespace mltk::models
