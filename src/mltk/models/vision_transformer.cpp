// torchvision.models.vision_transformer: ViT-B/16, ViT-B/32 and ViT-L/16 at 224x224.
#include "mltk/models/classifier.h"
#include "mltk/models/families.h"
#include "mltk/models/packed_conv2d.h"
#include "mltk/models/truncated_normal.h"
#include "mltk/models/zoo.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/ordered_dict.h>

#include <cmath>
#include <string>

namespace mltk::models {
namespace {

constexpr int64_t kImageSize = 224;
constexpr double kLayerNormEps = 1e-6;

torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps));
}

// Batch-first self-attention with the parameters of torch.nn.MultiheadAttention, so that
// torchvision checkpoints load unchanged. Written with plain tensor ops because the traced graph
// is converted to ONNX, and free of batch-size reads so that the batch stays dynamic. The sequence
// length is a model constant (ViT only accepts its configured image size). torchvision builds ViT
// without attention dropout, so there is none here.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t hidden_dim, int64_t num_heads, int64_t seq_length)
      : hidden_dim_(hidden_dim), num_heads_(num_heads), head_dim_(hidden_dim / num_heads), seq_length_(seq_length) {
    TORCH_CHECK(head_dim_ * num_heads == hidden_dim, "hidden_dim must be divisible by num_heads");
    in_proj_weight_ = register_parameter("in_proj_weight", torch::empty({3 * hidden_dim, hidden_dim}));
    in_proj_bias_ = register_parameter("in_proj_bias", torch::empty({3 * hidden_dim}));
    out_proj_ = register_module("out_proj", torch::nn::Linear(hidden_dim, hidden_dim));
    // nn.MultiheadAttention._reset_parameters; out_proj.weight keeps nn.Linear's default init.
    torch::nn::init::xavier_uniform_(in_proj_weight_);
    torch::nn::init::zeros_(in_proj_bias_);
    torch::nn::init::zeros_(out_proj_->bias);
  }

  // x: [N, S, E] -> [N, S, E].
  torch::Tensor forward(torch::Tensor x) {
    // In evaluation without gradients, nn.MultiheadAttention calls ATen's fused attention (its "fast
    // path"), which is therefore what torchvision's ViT runs in Python; so do we, except while
    // tracing, whose graph is converted to ONNX operator by operator.
    if (!is_training() && !torch::GradMode::is_enabled() && num_heads_ % 2 == 0 && !torch::jit::tracer::isTracing())
      return std::get<0>(at::_native_multi_head_attention(x, x, x, hidden_dim_, num_heads_, in_proj_weight_,
                                                          in_proj_bias_, out_proj_->weight, out_proj_->bias, {},
                                                          /*need_weights=*/false));
    // The packed projection is [q | k | v] along the last dim, each split into heads as h * D + d.
    auto qkv = torch::linear(x, in_proj_weight_, in_proj_bias_)
                   .reshape({-1, seq_length_, 3, num_heads_, head_dim_})
                   .permute({2, 0, 3, 1, 4});  // [3, N, H, S, D]
    // PyTorch scales q (not the scores) before q @ k^T.
    auto q = qkv.select(0, 0) / std::sqrt(static_cast<double>(head_dim_));
    auto k = qkv.select(0, 1);
    auto v = qkv.select(0, 2);
    auto weights = torch::softmax(torch::matmul(q, k.transpose(-2, -1)), -1);
    auto out = torch::matmul(weights, v);                                 // [N, H, S, D]
    out = out.transpose(1, 2).reshape({-1, seq_length_, hidden_dim_});  // [N, S, E]
    return out_proj_(out);
  }

 private:
  int64_t hidden_dim_, num_heads_, head_dim_, seq_length_;
  torch::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear out_proj_{nullptr};
};
TORCH_MODULE(SelfAttention);

// torchvision's MLPBlock: an ops.MLP, i.e. Sequential(Linear, GELU, Dropout, Linear, Dropout).
torch::nn::Sequential mlp_block(int64_t hidden_dim, int64_t mlp_dim, double dropout) {
  torch::nn::Linear fc1(hidden_dim, mlp_dim), fc2(mlp_dim, hidden_dim);
  for (auto& fc : {fc1, fc2}) {
    torch::nn::init::xavier_uniform_(fc->weight);
    torch::nn::init::normal_(fc->bias, 0.0, 1e-6);
  }
  return torch::nn::Sequential(fc1, torch::nn::GELU(), torch::nn::Dropout(dropout), fc2, torch::nn::Dropout(dropout));
}

// Pre-norm transformer block: x + attention(ln_1(x)), then x + mlp(ln_2(x)).
class EncoderBlockImpl : public torch::nn::Module {
 public:
  EncoderBlockImpl(int64_t num_heads, int64_t hidden_dim, int64_t mlp_dim, int64_t seq_length, double dropout)
      : ln_1_(register_module("ln_1", layer_norm(hidden_dim))),
        self_attention_(register_module("self_attention", SelfAttention(hidden_dim, num_heads, seq_length))),
        dropout_(register_module("dropout", torch::nn::Dropout(dropout))),
        ln_2_(register_module("ln_2", layer_norm(hidden_dim))),
        mlp_(register_module("mlp", mlp_block(hidden_dim, mlp_dim, dropout))) {}

  torch::Tensor forward(torch::Tensor input) {
    TORCH_CHECK(input.dim() == 3, "Expected (batch_size, seq_length, hidden_dim) got ", input.sizes());
    auto x = dropout_(self_attention_(ln_1_(input))) + input;
    return x + mlp_->forward(ln_2_(x));
  }

 private:
  torch::nn::LayerNorm ln_1_;
  SelfAttention self_attention_;
  torch::nn::Dropout dropout_;
  torch::nn::LayerNorm ln_2_;
  torch::nn::Sequential mlp_;
};
TORCH_MODULE(EncoderBlock);

class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(int64_t seq_length, int64_t num_layers, int64_t num_heads, int64_t hidden_dim, int64_t mlp_dim,
              double dropout) {
    // [1, S, E]: the whole model is batch-first; normal(0.02) is the BERT initialisation torchvision uses.
    pos_embedding_ = register_parameter("pos_embedding", torch::empty({1, seq_length, hidden_dim}).normal_(0.0, 0.02));
    dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    torch::OrderedDict<std::string, torch::nn::AnyModule> blocks;
    for (int64_t i = 0; i < num_layers; ++i)
      blocks.insert("encoder_layer_" + std::to_string(i),
                    torch::nn::AnyModule(EncoderBlock(num_heads, hidden_dim, mlp_dim, seq_length, dropout)));
    layers_ = register_module("layers", torch::nn::Sequential(std::move(blocks)));
    ln_ = register_module("ln", layer_norm(hidden_dim));
  }

  torch::Tensor forward(torch::Tensor input) {
    TORCH_CHECK(input.dim() == 3, "Expected (batch_size, seq_length, hidden_dim) got ", input.sizes());
    return ln_(layers_->forward(dropout_(input + pos_embedding_)));
  }

 private:
  torch::Tensor pos_embedding_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Sequential layers_{nullptr};
  torch::nn::LayerNorm ln_{nullptr};
};
TORCH_MODULE(Encoder);

struct VitConfig {
  int64_t patch_size, num_layers, num_heads, hidden_dim, mlp_dim;
};

class VisionTransformerImpl : public ClassifierImpl {
 public:
  VisionTransformerImpl(const VitConfig& config, int64_t num_classes, int64_t image_size = kImageSize,
                        double dropout = 0.0)
      : image_size_(image_size) {
    TORCH_CHECK(image_size % config.patch_size == 0, "Input shape indivisible by patch size!");
    const int64_t patches_per_side = image_size / config.patch_size;
    const int64_t seq_length = patches_per_side * patches_per_side + 1;  // + class token

    conv_proj_ = register_module(
        "conv_proj", PackedConv2d(torch::nn::Conv2dOptions(3, config.hidden_dim, config.patch_size)
                                           .stride(config.patch_size)));
    class_token_ = register_parameter("class_token", torch::zeros({1, 1, config.hidden_dim}));
    encoder_ = register_module("encoder", Encoder(seq_length, config.num_layers, config.num_heads, config.hidden_dim,
                                                  config.mlp_dim, dropout));
    torch::nn::Linear head(config.hidden_dim, num_classes);
    torch::OrderedDict<std::string, torch::nn::AnyModule> heads;
    heads.insert("head", torch::nn::AnyModule(head));
    heads_ = register_module("heads", torch::nn::Sequential(std::move(heads)));

    // Patchify stem: LeCun-normal-like, truncated at +-2 (absolute) as torchvision does.
    const int64_t fan_in = 3 * config.patch_size * config.patch_size;
    trunc_normal_(conv_proj_->weight, 0.0, std::sqrt(1.0 / static_cast<double>(fan_in)));
    torch::nn::init::zeros_(conv_proj_->bias);
    torch::nn::init::zeros_(head->weight);
    torch::nn::init::zeros_(head->bias);
  }

  torch::Tensor forward(torch::Tensor images) override {
    // Shape checks only; they never feed the computation, so a traced graph stays batch-agnostic.
    TORCH_CHECK(images.dim() == 4, "Expected (batch_size, 3, height, width) got ", images.sizes());
    TORCH_CHECK(images.size(2) == image_size_, "Wrong image height! Expected ", image_size_, " but got ",
                images.size(2), "!");
    TORCH_CHECK(images.size(3) == image_size_, "Wrong image width! Expected ", image_size_, " but got ",
                images.size(3), "!");
    // [N, 3, H, W] -> [N, E, H/p, W/p] -> [N, S-1, E]
    auto x = conv_proj_(images).flatten(2).permute({0, 2, 1});
    // Broadcasting against a batch-shaped zero tensor replaces torchvision's expand(n, -1, -1).
    auto class_tokens = class_token_ + torch::zeros_like(x.narrow(1, 0, 1));
    x = encoder_(torch::cat({class_tokens, x}, 1));
    return heads_->forward(x.select(1, 0));
  }

 private:
  int64_t image_size_;
  PackedConv2d conv_proj_{nullptr};
  torch::Tensor class_token_;
  Encoder encoder_{nullptr};
  torch::nn::Sequential heads_{nullptr};
};

void add_vit(ModelZoo& zoo, const std::string& name, VitConfig config, const std::string& weights_file) {
  zoo.add({name, ModelType::base,
           [config](const ModelOptions& o) -> Classifier {
             return std::make_shared<VisionTransformerImpl>(config, o.num_classes);
           },
           weights_file});
}

}  // namespace

void register_vit_family(ModelZoo& zoo) {
  add_vit(zoo, "vit_b_16", {16, 12, 12, 768, 3072}, "vit_b_16-c867db91.pth");
  add_vit(zoo, "vit_b_32", {32, 12, 12, 768, 3072}, "vit_b_32-d86f8d99.pth");
  add_vit(zoo, "vit_l_16", {16, 24, 16, 1024, 4096}, "vit_l_16-852ce7e3.pth");
}

}  // namespace mltk::models
