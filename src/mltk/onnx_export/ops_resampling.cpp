// Resampling (interpolation, pixel shuffling) and padding.
#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// aten::upsample_{nearest,bilinear,bicubic}Nd(input, output_size, [align_corners,] scale_factors) as
// ONNX Resize. torch's nearest is Resize's asymmetric/floor; bilinear and bicubic (a = -0.75) map
// coordinates as pytorch_half_pixel, or align_corners.
std::string resize(ConversionContext& ctx, const std::string& mode, std::optional<size_t> align_corners_index,
                   size_t scales_index) {
  std::vector<Attribute> attributes{{"mode", mode.c_str()}};
  if (mode == "nearest") {
    attributes.emplace_back("coordinate_transformation_mode", "asymmetric");
    attributes.emplace_back("nearest_mode", "floor");
  } else {
    const bool align_corners = ctx.bool_arg(*align_corners_index);
    attributes.emplace_back("coordinate_transformation_mode", align_corners ? "align_corners" : "pytorch_half_pixel");
    if (mode == "cubic") attributes.emplace_back("cubic_coeff_a", -0.75);
  }
  const auto x = ctx.input(0);
  const auto rank = ctx.rank(0);
  // Before opset 13, roi and scales are required inputs; an empty tensor means "not given".
  const auto empty = [&ctx] { return ctx.opset() >= 13 ? std::string() : ctx.constant(torch::empty({0}, torch::kFloat)); };
  if (!ctx.is_none(1)) {
    // The batch and channel sizes are read at run time so that the batch stays free.
    const auto leading = ctx.op("Slice", {ctx.op("Shape", {x}), ctx.int64s({0}), ctx.int64s({2}), ctx.int64s({0})});
    const auto sizes = ctx.op("Concat", {leading, ctx.int64s(ctx.ints_arg(1))}, {{"axis", 0}});
    return ctx.op("Resize", {x, empty(), empty(), sizes}, attributes);
  }
  const auto& factors = ctx.static_value(ctx.node().input(scales_index));
  std::vector<float> scales{1, 1};
  for (const auto factor : factors.toDoubleVector()) scales.push_back(static_cast<float>(factor));
  if (static_cast<int64_t>(scales.size()) != rank)
    throw std::invalid_argument("one scale factor per spatial dimension is needed");
  return ctx.op("Resize", {x, empty(), ctx.constant(torch::tensor(scales))}, attributes);
}

std::string convert_upsample_nearest(ConversionContext& ctx) { return resize(ctx, "nearest", std::nullopt, 2); }
std::string convert_upsample_linear(ConversionContext& ctx) { return resize(ctx, "linear", 2, 3); }
std::string convert_upsample_cubic(ConversionContext& ctx) { return resize(ctx, "cubic", 2, 3); }

// aten::pixel_shuffle(self, upscale_factor): DepthToSpace in its column-row-depth order.
std::string convert_pixel_shuffle(ConversionContext& ctx) {
  return ctx.op("DepthToSpace", {ctx.input(0)}, {{"blocksize", ctx.int_arg(1)}, {"mode", "CRD"}});
}

// aten::pixel_unshuffle(self, downscale_factor): SpaceToDepth orders the output channels by block
// position first, torch by input channel first, so the blocks are moved by reshaping instead:
// [N, C, H, W] -> [N, C, H/r, r, W/r, r] -> [N, C, r, r, H/r, W/r] -> [N, C*r*r, H/r, W/r].
std::string convert_pixel_unshuffle(ConversionContext& ctx) {
  const auto r = ctx.int_arg(1);
  const auto sizes = ctx.sizes(0);
  if (sizes.size() != 4) throw std::invalid_argument("pixel_unshuffle of a tensor of rank other than 4");
  const auto c = sizes[1], h = sizes[2], w = sizes[3];
  const auto blocks = ctx.op("Reshape", {ctx.input(0), ctx.int64s({0, c, h / r, r, w / r, r})});
  const auto moved = ctx.op("Transpose", {blocks}, {{"perm", std::vector<int64_t>{0, 1, 3, 5, 2, 4}}});
  return ctx.op("Reshape", {moved, ctx.int64s({0, c * r * r, h / r, w / r})});
}

// torch lists paddings from the last dimension backwards, (begin, end) per dimension; ONNX wants
// every dimension's begin, then every dimension's end.
std::vector<int64_t> onnx_pads(const std::vector<int64_t>& torch_pads, int64_t rank) {
  if (torch_pads.size() % 2 != 0 || static_cast<int64_t>(torch_pads.size()) > 2 * rank)
    throw std::invalid_argument("padding must give a begin and an end for at most every dimension");
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  for (size_t i = 0; i < torch_pads.size() / 2; ++i) {
    const auto dim = rank - 1 - static_cast<int64_t>(i);
    pads[dim] = torch_pads[2 * i];
    pads[rank + dim] = torch_pads[2 * i + 1];
  }
  return pads;
}

std::string pad(ConversionContext& ctx, const std::string& mode, double value) {
  const auto pads = ctx.int64s(onnx_pads(ctx.ints_arg(1), ctx.rank(0)));
  if (mode != "constant") return ctx.op("Pad", {ctx.input(0), pads}, {{"mode", mode.c_str()}});
  return ctx.op("Pad", {ctx.input(0), pads, ctx.scalar(value, ctx.scalar_type(0))}, {{"mode", "constant"}});
}

// aten::pad(self, pad, mode, value)
std::string convert_pad(ConversionContext& ctx) {
  const auto mode = ctx.string_arg(2);
  const double value = ctx.is_none(3) ? 0.0 : ctx.double_arg(3);
  if (mode == "constant") return pad(ctx, "constant", value);
  if (mode == "reflect") return pad(ctx, "reflect", 0);
  if (mode == "replicate") return pad(ctx, "edge", 0);
  throw std::invalid_argument("padding mode '" + mode + "' is not supported (constant, reflect, replicate are)");
}

// aten::constant_pad_nd(self, pad, value)
std::string convert_constant_pad(ConversionContext& ctx) { return pad(ctx, "constant", ctx.double_arg(2)); }
// aten::reflection_padNd / replication_padNd(self, padding)
std::string convert_reflection_pad(ConversionContext& ctx) { return pad(ctx, "reflect", 0); }
std::string convert_replication_pad(ConversionContext& ctx) { return pad(ctx, "edge", 0); }

}  // namespace

void register_resampling_ops(ConverterRegistry& registry) {
  const std::set<std::string> resize{"Resize", "Shape", "Slice", "Concat"};
  for (const auto* name : {"aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d"})
    registry.add(name, resize, convert_upsample_nearest);
  for (const auto* name : {"aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d"})
    registry.add(name, resize, convert_upsample_linear);
  registry.add("aten::upsample_bicubic2d", resize, convert_upsample_cubic);
  registry.add("aten::pixel_shuffle", {"DepthToSpace"}, convert_pixel_shuffle);
  registry.add("aten::pixel_unshuffle", {"Reshape", "Transpose"}, convert_pixel_unshuffle);
  registry.add("aten::pad", {"Pad"}, convert_pad);
  registry.add("aten::constant_pad_nd", {"Pad"}, convert_constant_pad);
  for (const auto* name : {"aten::reflection_pad1d", "aten::reflection_pad2d", "aten::reflection_pad3d"})
    registry.add(name, {"Pad"}, convert_reflection_pad);
  for (const auto* name : {"aten::replication_pad1d", "aten::replication_pad2d", "aten::replication_pad3d"})
    registry.add(name, {"Pad"}, convert_replication_pad);
}

}  // namespace mltk::onnx_export
