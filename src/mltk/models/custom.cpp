// The two small architectures of model.type "custom", for quick experiments and tests.
#include "mltk/models/families.h"
#include "mltk/models/packed_conv2d.h"
#include "mltk/models/zoo.h"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/linear.h>

#include <stdexcept>

namespace mltk::models {
namespace {

namespace F = torch::nn::functional;

int64_t pooled_side(int64_t input_size, int pools, const std::string& name) {
  const int64_t side = input_size >> pools;
  if (side < 1)
    throw std::invalid_argument(name + " needs input_size >= " + std::to_string(1 << pools) + ", got " +
                                std::to_string(input_size));
  return side;
}

PackedConv2d same_conv(int64_t in, int64_t out, int64_t kernel) {
  return PackedConv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
}

torch::Tensor relu_pool(const torch::Tensor& x) { return F::max_pool2d(torch::relu(x), F::MaxPool2dFuncOptions(2)); }

// conv(3x3) x3 with ReLU and 2x2 max-pool after each, then fc1 (256) -> ReLU -> dropout -> fc2.
class SimpleCnnImpl : public ClassifierImpl {
 public:
  SimpleCnnImpl(int64_t num_classes, int64_t input_size, double dropout) : dropout_(dropout) {
    const int64_t side = pooled_side(input_size, 3, "simple_cnn");
    conv1_ = register_module("conv1", same_conv(3, 32, 3));
    conv2_ = register_module("conv2", same_conv(32, 64, 3));
    conv3_ = register_module("conv3", same_conv(64, 128, 3));
    fc1_ = register_module("fc1", torch::nn::Linear(128 * side * side, 256));
    fc2_ = register_module("fc2", torch::nn::Linear(256, num_classes));
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = relu_pool(conv1_(x));
    x = relu_pool(conv2_(x));
    x = relu_pool(conv3_(x));
    x = torch::relu(fc1_(x.flatten(1)));
    x = F::dropout(x, F::DropoutFuncOptions().p(dropout_).training(is_training()));
    return fc2_(x);
  }

 private:
  double dropout_;
  PackedConv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// conv(5x5) x2 with ReLU and 2x2 max-pool after each, then one Linear.
class TinyNetImpl : public ClassifierImpl {
 public:
  TinyNetImpl(int64_t num_classes, int64_t input_size) {
    const int64_t side = pooled_side(input_size, 2, "tiny_net");
    conv1_ = register_module("conv1", same_conv(3, 16, 5));
    conv2_ = register_module("conv2", same_conv(16, 32, 5));
    fc_ = register_module("fc", torch::nn::Linear(32 * side * side, num_classes));
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = relu_pool(conv1_(x));
    x = relu_pool(conv2_(x));
    return fc_(x.flatten(1));
  }

 private:
  PackedConv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

void register_custom_family(ModelZoo& zoo) {
  zoo.add({"simple_cnn", ModelType::custom,
           [](const ModelOptions& o) -> Classifier {
             return std::make_shared<SimpleCnnImpl>(o.num_classes, o.input_size, o.dropout.value_or(0.5));
           },
           ""});
  zoo.add({"tiny_net", ModelType::custom,
           [](const ModelOptions& o) -> Classifier { return std::make_shared<TinyNetImpl>(o.num_classes, o.input_size); },
           ""});
}

}  // namespace mltk::models
