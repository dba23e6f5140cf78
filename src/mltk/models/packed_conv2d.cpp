#include "mltk/models/packed_conv2d.h"

#include <ATen/native/ConvUtils.h>
#include <ATen/ops/mkldnn_convolution.h>
#include <ATen/ops/mkldnn_reorder_conv2d_weight.h>
#include <torch/csrc/jit/frontend/tracer.h>

namespace mltk::models {

const torch::ExpandingArray<2>* PackedConv2dImpl::explicit_padding() const {
  return c10::get_if<torch::ExpandingArray<2>>(&options.padding());
}

c10::optional<torch::Tensor> PackedConv2dImpl::optional_bias() const {
  return bias.defined() ? c10::optional<torch::Tensor>(bias.contiguous()) : c10::nullopt;
}

bool PackedConv2dImpl::runs_on_onednn(const torch::Tensor& input) const {
  if (torch::GradMode::is_enabled() || torch::jit::tracer::isTracing()) return false;
  // Padding given as "same" or "valid", or other than zeros, is computed by torch::nn::Conv2d itself.
  if (explicit_padding() == nullptr || !c10::holds_alternative<torch::enumtype::kZeros>(options.padding_mode()))
    return false;
  // Plain float32 NCHW input and weight: with channels-last tensors LibTorch picks another oneDNN path.
  if (input.dim() != 4 || input.layout() != torch::kStrided || !input.device().is_cpu() ||
      input.scalar_type() != torch::kFloat || input.suggest_memory_format() != torch::MemoryFormat::Contiguous)
    return false;
  if (weight.layout() != torch::kStrided || !weight.device().is_cpu() || weight.scalar_type() != torch::kFloat ||
      weight.is_inference() || weight.suggest_memory_format() != torch::MemoryFormat::Contiguous)
    return false;
  if (bias.defined() && (bias.scalar_type() != torch::kFloat || !bias.device().is_cpu())) return false;
  // A mismatched input goes to LibTorch's own path, which names the mismatch.
  if (input.size(1) != weight.size(1) * options.groups()) return false;
  const auto backend = at::native::select_conv_backend(input, weight, optional_bias(), *options.stride(),
                                                       **explicit_padding(), *options.dilation(), /*transposed=*/false,
                                                       /*output_padding=*/{0, 0}, options.groups());
  return backend == at::native::ConvBackend::Mkldnn;
}

torch::Tensor PackedConv2dImpl::packed_weight() {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool current = packed_weight_.defined() && packed_from_.is_same(weight) &&
                       packed_from_data_ == weight.data_ptr() && packed_from_version_ == weight._version();
  if (!current) {
    packed_weight_ = at::mkldnn_reorder_conv2d_weight(weight.contiguous().to_mkldnn(), **explicit_padding(),
                                                      *options.stride(), *options.dilation(), options.groups());
    packed_from_ = weight;
    packed_from_data_ = weight.data_ptr();
    packed_from_version_ = weight._version();
  }
  return packed_weight_;
}

torch::Tensor PackedConv2dImpl::forward(const torch::Tensor& input) {
  if (!runs_on_onednn(input)) {
    if (torch::GradMode::is_enabled()) {
      std::lock_guard<std::mutex> lock(mutex_);
      packed_weight_ = packed_from_ = torch::Tensor();
    }
    return torch::nn::Conv2dImpl::forward(input);
  }
  return at::mkldnn_convolution(input.contiguous(), packed_weight(), optional_bias(), **explicit_padding(),
                                *options.stride(), *options.dilation(), options.groups());
}

bool PackedConv2dImpl::holds_packed_weight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return packed_weight_.defined();
}

}  // namespace mltk::models
