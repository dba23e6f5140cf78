#pragma once
// torch.nn.init.trunc_normal_, which LibTorch's torch::nn::init lacks; several torchvision
// architectures initialise their weights with it.
#include <torch/types.h>

namespace mltk::models {

// Fills `tensor` in place from N(mean, std^2) truncated to [a, b]. As in PyTorch, a and b are
// absolute bounds, not multiples of std.
void trunc_normal_(torch::Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);

}  // namespace mltk::models
