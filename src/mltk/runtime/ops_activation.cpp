// Activation functions and Softmax.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <functional>
#include <limits>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> relu(const OpContext& ctx) { return {torch::relu(ctx.input(0))}; }
std::vector<torch::Tensor> sigmoid(const OpContext& ctx) { return {torch::sigmoid(ctx.input(0))}; }
std::vector<torch::Tensor> tanh(const OpContext& ctx) { return {torch::tanh(ctx.input(0))}; }

std::vector<torch::Tensor> leaky_relu(const OpContext& ctx) {
  return {torch::leaky_relu(ctx.input(0), ctx.attr_float("alpha", 0.01F))};
}

std::vector<torch::Tensor> prelu(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  // ONNX broadcasts slope to X numpy-style; ATen's prelu only takes per-channel slopes.
  return {torch::where(x < 0, x * ctx.input(1), x)};
}

std::vector<torch::Tensor> thresholded_relu(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  return {torch::where(x > ctx.attr_float("alpha", 1.0F), x, torch::zeros_like(x))};
}

std::vector<torch::Tensor> elu(const OpContext& ctx) {
  return {torch::elu(ctx.input(0), ctx.attr_float("alpha", 1.0F))};
}

std::vector<torch::Tensor> selu(const OpContext& ctx) {
  // ONNX's defaults are the float32 roundings of SELU's constants.
  const double alpha = ctx.attr_float("alpha", 1.67326319217681884765625F);
  const double gamma = ctx.attr_float("gamma", 1.05070102214813232421875F);
  return {torch::elu(ctx.input(0), alpha, /*scale=*/gamma)};
}

std::vector<torch::Tensor> celu(const OpContext& ctx) {
  return {torch::celu(ctx.input(0), ctx.attr_float("alpha", 1.0F))};
}

std::vector<torch::Tensor> softplus(const OpContext& ctx) { return {torch::softplus(ctx.input(0))}; }

std::vector<torch::Tensor> softsign(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  return {x / (x.abs() + 1)};
}

std::vector<torch::Tensor> clip(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  c10::optional<c10::Scalar> low;
  c10::optional<c10::Scalar> high;
  if (ctx.opset() < 11) {
    // Before opset 11 the bounds were float attributes defaulting to the float range.
    low = ctx.attr_float("min", std::numeric_limits<float>::lowest());
    high = ctx.attr_float("max", std::numeric_limits<float>::max());
  } else {
    if (ctx.has_input(1)) low = ctx.input(1).item();
    if (ctx.has_input(2)) high = ctx.input(2).item();
  }
  if (!low && !high) return {x};
  return {torch::clamp(x, low, high)};
}

std::vector<torch::Tensor> hard_sigmoid(const OpContext& ctx) {
  const double alpha = ctx.attr_float("alpha", 0.2F);
  const double beta = ctx.attr_float("beta", 0.5F);
  return {torch::clamp(ctx.input(0) * alpha + beta, 0.0, 1.0)};
}

std::vector<torch::Tensor> hard_swish(const OpContext& ctx) {
  // ONNX HardSwish is x * HardSigmoid(x; alpha=1/6, beta=0.5), identical to ATen's hardswish.
  return {torch::hardswish(ctx.input(0))};
}

// Softmax-style normalisation along one axis. Before opset 13 the input is coerced to 2-D at
// `axis` (default 1) and normalised per row; from 13 only the one axis (default -1) is.
torch::Tensor normalize_along_axis(const OpContext& ctx,
                                   const std::function<torch::Tensor(const torch::Tensor&, int64_t)>& normalize) {
  const auto& x = ctx.input(0);
  const int64_t rank = x.dim();
  if (ctx.opset() >= 13) return normalize(x, normalize_axis(ctx, ctx.attr_int("axis", -1), rank));
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 1), rank);
  const int64_t rows = c10::multiply_integers(x.sizes().slice(0, axis));
  return normalize(x.reshape({rows, -1}), 1).reshape(x.sizes());
}

std::vector<torch::Tensor> softmax(const OpContext& ctx) {
  return {normalize_along_axis(ctx, [](const torch::Tensor& x, int64_t axis) { return torch::softmax(x, axis); })};
}

std::vector<torch::Tensor> log_softmax(const OpContext& ctx) {
  return {normalize_along_axis(ctx, [](const torch::Tensor& x, int64_t axis) { return torch::log_softmax(x, axis); })};
}

std::vector<torch::Tensor> hardmax(const OpContext& ctx) {
  return {normalize_along_axis(ctx, [](const torch::Tensor& x, int64_t axis) {
    // argmax picks the first of equal maxima, as ONNX requires.
    return torch::zeros_like(x).scatter_(axis, x.argmax(axis, /*keepdim=*/true), 1);
  })};
}

}  // namespace

void register_activation_ops(OperatorRegistry& registry) {
  registry.add("Relu", relu);
  registry.add("Sigmoid", sigmoid);
  registry.add("Tanh", tanh);
  registry.add("Clip", clip);
  registry.add("HardSigmoid", hard_sigmoid);
  registry.add("HardSwish", hard_swish);
  registry.add("LeakyRelu", leaky_relu);
  registry.add("PRelu", prelu);
  registry.add("ThresholdedRelu", thresholded_relu);
  registry.add("Elu", elu);
  registry.add("Selu", selu);
  registry.add("Celu", celu);
  registry.add("Softplus", softplus);
  registry.add("Softsign", softsign);
  registry.add("Softmax", softmax);
  registry.add("LogSoftmax", log_softmax);
  registry.add("Hardmax", hardmax);
}

}  // namespace mltk::runtime
