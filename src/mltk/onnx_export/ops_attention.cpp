// nn.MultiheadAttention's eval-mode fast path, which LibTorch runs as one fused operator.
#include "mltk/onnx_export/converters.h"

#include <cmath>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// Rows [begin, end) of a projection weight or bias (dimension 0), as in_proj's q, k and v parts.
std::string rows(ConversionContext& ctx, const std::string& tensor, int64_t begin, int64_t end) {
  return ctx.op("Slice", {tensor, ctx.int64s({begin}), ctx.int64s({end}), ctx.int64s({0})});
}

// x [B, L, E] @ weight[rows]^T + bias[rows], split into heads: [B, H, L, D].
std::string project_heads(ConversionContext& ctx, const std::string& x, const std::string& weight,
                          const std::string& bias, int64_t part, int64_t embed, int64_t heads) {
  const auto w = rows(ctx, weight, part * embed, (part + 1) * embed);
  const auto b = rows(ctx, bias, part * embed, (part + 1) * embed);
  const auto projected =
      ctx.op("Add", {ctx.op("MatMul", {x, ctx.op("Transpose", {w}, {{"perm", std::vector<int64_t>{1, 0}}})}), b});
  const auto split = ctx.op("Reshape", {projected, ctx.int64s({0, 0, heads, embed / heads})});
  return ctx.op("Transpose", {split}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
}

// aten::_native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias,
// proj_weight, proj_bias, mask, need_weights, average_attn_weights, mask_type) -> (output, weights),
// batch first: softmax(q k^T / sqrt(D)) v per head, heads joined, then the output projection.
std::vector<std::string> convert_native_multi_head_attention(ConversionContext& ctx) {
  if (!ctx.is_none(9)) throw std::invalid_argument("an attention mask is not supported");
  const auto embed = ctx.int_arg(3), heads = ctx.int_arg(4);
  const auto type = ctx.scalar_type(0);
  const auto weight = ctx.input(5), bias = ctx.input(6);
  const auto q = project_heads(ctx, ctx.input(0), weight, bias, 0, embed, heads);
  const auto k = project_heads(ctx, ctx.input(1), weight, bias, 1, embed, heads);
  const auto v = project_heads(ctx, ctx.input(2), weight, bias, 2, embed, heads);
  const auto k_t = ctx.op("Transpose", {k}, {{"perm", std::vector<int64_t>{0, 1, 3, 2}}});
  const auto scale = ctx.scalar(std::sqrt(static_cast<double>(embed / heads)), type);
  // Softmax over the last axis means the same before and after opset 13.
  const auto attention = ctx.op("Softmax", {ctx.op("Div", {ctx.op("MatMul", {q, k_t}), scale})}, {{"axis", 3}});
  const auto joined = ctx.op("Transpose", {ctx.op("MatMul", {attention, v})}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
  const auto merged = ctx.op("Reshape", {joined, ctx.int64s({0, 0, embed})});
  const auto projection = ctx.op("Transpose", {ctx.input(7)}, {{"perm", std::vector<int64_t>{1, 0}}});
  const auto output = ctx.op("Add", {ctx.op("MatMul", {merged, projection}), ctx.input(8)});
  if (!ctx.bool_arg(10)) {
    if (ctx.node().output(1)->hasUses())
      throw std::invalid_argument("the attention weights are read although need_weights is false");
    return {output, output};
  }
  if (!ctx.bool_arg(11)) return {output, attention};
  return {output, ctx.op("ReduceMean", {attention}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", 0}})};
}

}  // namespace

void register_attention_ops(ConverterRegistry& registry) {
  registry.add_outputs("aten::_native_multi_head_attention",
                       {"Slice", "Transpose", "MatMul", "Add", "Reshape", "Div", "Softmax", "ReduceMean"},
                       convert_native_multi_head_attention);
}

}  // namespace mltk::onnx_export
