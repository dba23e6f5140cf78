// ResNet-18/34/50/101/152, a port of torchvision 0.14's models/resnet.py with the same module tree
// (conv1, bn1, layer1..layer4 of blocks, fc) so that torchvision state dicts load key for key.
#include "mltk/models/families.h"
#include "mltk/models/packed_conv2d.h"
#include "mltk/models/zoo.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <array>

namespace mltk::models {
namespace {

// torchvision's conv3x3 / conv1x1: no bias, because a BatchNorm always follows.
PackedConv2d conv3x3(int64_t in_planes, int64_t out_planes, int64_t stride = 1) {
  return PackedConv2d(torch::nn::Conv2dOptions(in_planes, out_planes, 3).stride(stride).padding(1).bias(false));
}

PackedConv2d conv1x1(int64_t in_planes, int64_t out_planes, int64_t stride = 1) {
  return PackedConv2d(torch::nn::Conv2dOptions(in_planes, out_planes, 1).stride(stride).bias(false));
}

torch::nn::BatchNorm2d batch_norm_2d(int64_t channels) { return torch::nn::BatchNorm2d(channels); }

// The projection shortcut "downsample": Sequential(conv1x1, BatchNorm2d), children "0" and "1".
// Empty (nullptr) when the block keeps shape and the identity is added directly.
torch::nn::Sequential make_downsample(int64_t in_planes, int64_t out_planes, int64_t stride) {
  if (stride == 1 && in_planes == out_planes) return torch::nn::Sequential(nullptr);
  return torch::nn::Sequential(conv1x1(in_planes, out_planes, stride), batch_norm_2d(out_planes));
}

// Two 3x3 convolutions (ResNet-18/34).
class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t expansion = 1;

  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
      : conv1_(register_module("conv1", conv3x3(in_planes, planes, stride))),
        bn1_(register_module("bn1", batch_norm_2d(planes))),
        conv2_(register_module("conv2", conv3x3(planes, planes))),
        bn2_(register_module("bn2", batch_norm_2d(planes))),
        downsample_(make_downsample(in_planes, planes * expansion, stride)) {
    if (downsample_) register_module("downsample", downsample_);
  }

  // In place where torchvision is (ReLU(inplace=True), out += identity): batch norm's backward
  // needs its input, not its output, so overwriting the output saves one activation per step of
  // training memory.
  torch::Tensor forward(torch::Tensor x) {
    auto out = bn1_(conv1_(x)).relu_();
    out = bn2_(conv2_(out));
    out += downsample_ ? downsample_->forward(x) : x;
    return out.relu_();
  }

 private:
  // Declared in torchvision's registration order, which the constructor's initialisers follow.
  PackedConv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  PackedConv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Sequential downsample_;
};

// 1x1 reduce, 3x3 (carrying the stride, as torchvision's "ResNet V1.5"), 1x1 expand (ResNet-50/101/152).
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t expansion = 4;

  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride)
      : conv1_(register_module("conv1", conv1x1(in_planes, planes))),
        bn1_(register_module("bn1", batch_norm_2d(planes))),
        conv2_(register_module("conv2", conv3x3(planes, planes, stride))),
        bn2_(register_module("bn2", batch_norm_2d(planes))),
        conv3_(register_module("conv3", conv1x1(planes, planes * expansion))),
        bn3_(register_module("bn3", batch_norm_2d(planes * expansion))),
        downsample_(make_downsample(in_planes, planes * expansion, stride)) {
    if (downsample_) register_module("downsample", downsample_);
  }

  // In place where torchvision is, as in BasicBlock.
  torch::Tensor forward(torch::Tensor x) {
    auto out = bn1_(conv1_(x)).relu_();
    out = bn2_(conv2_(out)).relu_();
    out = bn3_(conv3_(out));
    out += downsample_ ? downsample_->forward(x) : x;
    return out.relu_();
  }

 private:
  PackedConv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  PackedConv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  PackedConv2d conv3_;
  torch::nn::BatchNorm2d bn3_;
  torch::nn::Sequential downsample_;
};

class ResNetImpl : public ClassifierImpl {
 public:
  // Number of blocks in layer1..layer4.
  using StageDepths = std::array<int64_t, 4>;

  template <typename Block>
  static std::shared_ptr<ResNetImpl> create(const StageDepths& depths, int64_t num_classes) {
    auto model = std::make_shared<ResNetImpl>();
    model->build<Block>(depths, num_classes);
    return model;
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = maxpool_(bn1_(conv1_(x)).relu_());
    x = layer1_->forward(x);
    x = layer2_->forward(x);
    x = layer3_->forward(x);
    x = layer4_->forward(x);
    x = avgpool_(x).flatten(1);
    return fc_(x);
  }

 private:
  template <typename Block>
  void build(const StageDepths& depths, int64_t num_classes) {
    conv1_ = register_module(
        "conv1", PackedConv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
    bn1_ = register_module("bn1", batch_norm_2d(64));
    maxpool_ = register_module("maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
    int64_t in_planes = 64;
    layer1_ = register_module("layer1", make_layer<Block>(in_planes, 64, depths[0], 1));
    layer2_ = register_module("layer2", make_layer<Block>(in_planes, 128, depths[1], 2));
    layer3_ = register_module("layer3", make_layer<Block>(in_planes, 256, depths[2], 2));
    layer4_ = register_module("layer4", make_layer<Block>(in_planes, 512, depths[3], 2));
    avgpool_ = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    // fc keeps LibTorch's default Linear initialisation, which is PyTorch's, as torchvision does.
    fc_ = register_module("fc", torch::nn::Linear(512 * Block::expansion, num_classes));
    initialise_weights();
  }

  // torchvision's _make_layer: only the first block of a stage changes stride and width.
  template <typename Block>
  static torch::nn::Sequential make_layer(int64_t& in_planes, int64_t planes, int64_t blocks, int64_t stride) {
    torch::nn::Sequential layer;
    layer->push_back(std::make_shared<Block>(in_planes, planes, stride));
    in_planes = planes * Block::expansion;
    for (int64_t i = 1; i < blocks; ++i) layer->push_back(std::make_shared<Block>(in_planes, planes, 1));
    return layer;
  }

  // Same scheme as torchvision (zero_init_residual=False): He-normal fan_out convs, unit BatchNorms.
  void initialise_weights() {
    torch::NoGradGuard no_grad;
    for (auto& module : modules(/*include_self=*/false)) {
      if (auto* conv = module->as<torch::nn::Conv2d>()) {
        torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
        torch::nn::init::ones_(bn->weight);
        torch::nn::init::zeros_(bn->bias);
      }
    }
  }

  PackedConv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::MaxPool2d maxpool_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

template <typename Block>
ArchitectureEntry resnet_entry(std::string name, ResNetImpl::StageDepths depths, std::string weights_file) {
  return {std::move(name), ModelType::base,
          [depths](const ModelOptions& o) -> Classifier { return ResNetImpl::create<Block>(depths, o.num_classes); },
          std::move(weights_file)};
}

}  // namespace

void register_resnet_family(ModelZoo& zoo) {
  zoo.add(resnet_entry<BasicBlockImpl>("resnet18", {2, 2, 2, 2}, "resnet18-f37072fd.pth"));
  zoo.add(resnet_entry<BasicBlockImpl>("resnet34", {3, 4, 6, 3}, "resnet34-b627a593.pth"));
  zoo.add(resnet_entry<BottleneckImpl>("resnet50", {3, 4, 6, 3}, "resnet50-11ad3fa6.pth"));
  zoo.add(resnet_entry<BottleneckImpl>("resnet101", {3, 4, 23, 3}, "resnet101-cd907fc2.pth"));
  zoo.add(resnet_entry<BottleneckImpl>("resnet152", {3, 8, 36, 3}, "resnet152-f82ba261.pth"));
}

}  // namespace mltk::models
