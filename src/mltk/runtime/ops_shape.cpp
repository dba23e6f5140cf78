// Shape manipulation, indexing, concatenation and padding.
#include "mltk/runtime/operator_registry.h"

#include <torch/torch.h>

#include <algorithm>

namespace mltk::runtime {
namespace {

std::vector<torch::Tensor> flatten(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  // axis may equal rank here (everything goes to the first dimension).
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < 0) axis += x.dim();
  if (axis < 0 || axis > x.dim()) ctx.fail("axis out of range for rank " + std::to_string(x.dim()));
  const int64_t outer = c10::multiply_integers(x.sizes().slice(0, axis));
  const int64_t inner = c10::multiply_integers(x.sizes().slice(axis));
  return {x.reshape({outer, inner})};
}

std::vector<torch::Tensor> reshape(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  auto shape = ctx.input_ints(1);
  // 0 copies the input's dimension unless allowzero (opset 14) asks for a literal zero.
  if (ctx.attr_int("allowzero", 0) == 0) {
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0) {
        if (static_cast<int64_t>(i) >= x.dim()) ctx.fail("shape has 0 at an index beyond the input rank");
        shape[i] = x.size(static_cast<int64_t>(i));
      }
    }
  }
  return {x.reshape(shape)};
}

std::vector<torch::Tensor> transpose(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  std::vector<int64_t> reversed;
  for (int64_t d = x.dim(); d-- > 0;) reversed.push_back(d);
  return {x.permute(ctx.attr_ints("perm", reversed))};
}

std::vector<torch::Tensor> concat(const OpContext& ctx) {
  std::vector<torch::Tensor> parts;
  for (int i = 0; i < ctx.node().input_size(); ++i) parts.push_back(ctx.input(i));
  return {torch::cat(parts, normalize_axis(ctx, ctx.attr_int("axis", 0), parts.at(0).dim()))};
}

std::vector<torch::Tensor> slice(const OpContext& ctx) {
  auto result = ctx.input(0);
  const bool from_inputs = ctx.opset() >= 10;
  const auto starts = from_inputs ? ctx.input_ints(1) : ctx.attr_ints("starts");
  const auto ends = from_inputs ? ctx.input_ints(2) : ctx.attr_ints("ends");
  std::vector<int64_t> axes;
  if (from_inputs ? ctx.has_input(3) : ctx.has_attribute("axes")) {
    axes = from_inputs ? ctx.input_ints(3) : ctx.attr_ints("axes");
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  const auto steps = from_inputs && ctx.has_input(4) ? ctx.input_ints(4) : std::vector<int64_t>(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    ctx.fail("starts, ends, axes and steps must have the same length");
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t axis = normalize_axis(ctx, axes[i], result.dim());
    const int64_t dim = result.size(axis);
    const int64_t step = steps[i];
    if (step == 0) ctx.fail("slice step must not be 0");
    // Negative indices count from the end, then clamp as numpy does; ends may be INT64_MAX/MIN,
    // so clamping comes before any arithmetic that could overflow.
    int64_t start = starts[i] < 0 ? std::max<int64_t>(starts[i], -dim) + dim : starts[i];
    int64_t end = ends[i] < 0 ? std::max<int64_t>(ends[i], -dim - 1) + dim : ends[i];
    if (step > 0) {
      start = std::min(start, dim);
      end = std::clamp<int64_t>(end, start, dim);
      result = result.slice(axis, start, end, step);
    } else {
      // ATen slicing has no negative steps: gather the indices start, start+step, ... > end.
      start = std::min(start, dim - 1);
      end = std::min(end, dim - 1);
      const int64_t count = start > end ? (start - end - step - 1) / -step : 0;
      const auto indices = torch::arange(count, torch::TensorOptions().dtype(torch::kLong)) * step + start;
      result = result.index_select(axis, indices);
    }
  }
  return {result};
}

// Wraps negative indices into [0, size) and rejects any outside [-size, size) before ATen
// indexes with them.
torch::Tensor checked_indices(const OpContext& ctx, const torch::Tensor& indices, int64_t size) {
  auto wrapped = indices.to(torch::kLong);
  wrapped = torch::where(wrapped < 0, wrapped + size, wrapped);
  if (wrapped.numel() > 0 && (wrapped.min().item<int64_t>() < 0 || wrapped.max().item<int64_t>() >= size)) {
    ctx.fail("indices must lie in [" + std::to_string(-size) + ", " + std::to_string(size) + ") for axis of size " +
             std::to_string(size));
  }
  return wrapped;
}

std::vector<torch::Tensor> gather(const OpContext& ctx) {
  const auto& data = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), data.dim());
  const auto indices = checked_indices(ctx, ctx.input(1), data.size(axis));
  // Output shape is data.shape[:axis] + indices.shape + data.shape[axis+1:].
  std::vector<int64_t> shape(data.sizes().begin(), data.sizes().begin() + axis);
  shape.insert(shape.end(), indices.sizes().begin(), indices.sizes().end());
  shape.insert(shape.end(), data.sizes().begin() + axis + 1, data.sizes().end());
  return {data.index_select(axis, indices.reshape({-1})).reshape(shape)};
}

std::vector<torch::Tensor> gather_elements(const OpContext& ctx) {
  const auto& data = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), data.dim());
  if (ctx.input(1).dim() != data.dim()) ctx.fail("indices must have the rank of data");
  return {torch::gather(data, axis, checked_indices(ctx, ctx.input(1), data.size(axis)))};
}

// GatherND: each index row (the last dimension of `indices`) addresses the leading dimensions of
// data after the first batch_dims, which data and indices share.
std::vector<torch::Tensor> gather_nd(const OpContext& ctx) {
  const auto& data = ctx.input(0);
  const auto& indices = ctx.input(1);
  const int64_t batch_dims = ctx.attr_int("batch_dims", 0);
  if (indices.dim() < 1) ctx.fail("indices must have rank 1 or more");
  const int64_t depth = indices.size(-1);
  if (batch_dims < 0 || batch_dims >= indices.dim() || batch_dims + depth > data.dim())
    ctx.fail("indices of depth " + std::to_string(depth) + " with batch_dims " + std::to_string(batch_dims) +
             " do not fit data of rank " + std::to_string(data.dim()));
  for (int64_t d = 0; d < batch_dims; ++d)
    if (data.size(d) != indices.size(d)) ctx.fail("data and indices differ in batch dimension " + std::to_string(d));
  const int64_t batches = c10::multiply_integers(data.sizes().slice(0, batch_dims));
  const int64_t addressed = c10::multiply_integers(data.sizes().slice(batch_dims, depth));
  const auto rows = indices.reshape({batches, -1, depth});
  // Row-major offsets into the addressed dimensions, then into the batch.
  auto offsets = torch::zeros({batches, rows.size(1)}, torch::kLong);
  for (int64_t j = 0; j < depth; ++j) {
    const int64_t size = data.size(batch_dims + j);
    offsets = offsets * size + checked_indices(ctx, rows.select(2, j), size);
  }
  offsets += torch::arange(batches, torch::kLong).unsqueeze(1) * addressed;
  std::vector<int64_t> flat_shape{batches * addressed};
  flat_shape.insert(flat_shape.end(), data.sizes().begin() + batch_dims + depth, data.sizes().end());
  std::vector<int64_t> shape(indices.sizes().begin(), indices.sizes().end() - 1);
  shape.insert(shape.end(), data.sizes().begin() + batch_dims + depth, data.sizes().end());
  return {data.reshape(flat_shape).index_select(0, offsets.reshape({-1})).reshape(shape)};
}

// ScatterElements: `updates` written into a copy of data at `indices` along axis; duplicate
// indices combine by `reduction` (none: an unspecified one of them wins, as in ONNX).
std::vector<torch::Tensor> scatter_elements(const OpContext& ctx) {
  const auto& data = ctx.input(0);
  const auto& updates = ctx.input(2);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), data.dim());
  if (ctx.input(1).dim() != data.dim()) ctx.fail("indices must have the rank of data");
  if (ctx.input(1).sizes() != updates.sizes()) ctx.fail("updates must have the shape of indices");
  const auto indices = checked_indices(ctx, ctx.input(1), data.size(axis));
  const auto reduction = ctx.attr_string("reduction", "none");
  if (reduction == "none") return {data.scatter(axis, indices, updates)};
  if (reduction == "add") return {data.scatter_add(axis, indices, updates)};
  if (reduction == "mul") return {data.scatter(axis, indices, updates, "multiply")};
  ctx.fail("reduction '" + reduction + "' is not supported (none, add and mul are)");
}

// NonZero: the indices of the non-zero elements, one row per dimension, in row-major order.
std::vector<torch::Tensor> non_zero(const OpContext& ctx) { return {torch::nonzero(ctx.input(0)).t().contiguous()}; }

// Squeeze/Unsqueeze took axes as an attribute before opset 13 and as an input since.
std::vector<int64_t> axes_argument(const OpContext& ctx) {
  if (ctx.opset() >= 13) return ctx.has_input(1) ? ctx.input_ints(1) : std::vector<int64_t>{};
  return ctx.attr_ints("axes");
}

std::vector<torch::Tensor> unsqueeze(const OpContext& ctx) {
  auto result = ctx.input(0);
  auto axes = axes_argument(ctx);
  const int64_t out_rank = result.dim() + static_cast<int64_t>(axes.size());
  for (auto& axis : axes) axis = normalize_axis(ctx, axis, out_rank);
  // Inserting in ascending order keeps each axis referring to the final output layout.
  std::sort(axes.begin(), axes.end());
  for (int64_t axis : axes) result = result.unsqueeze(axis);
  return {result};
}

std::vector<torch::Tensor> squeeze(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  auto axes = axes_argument(ctx);
  if (axes.empty()) return {x.squeeze()};
  for (auto& axis : axes) {
    axis = normalize_axis(ctx, axis, x.dim());
    if (x.size(axis) != 1) {
      ctx.fail("cannot squeeze axis " + std::to_string(axis) + " of size " + std::to_string(x.size(axis)));
    }
  }
  // Removing from the highest axis down keeps the remaining axis numbers valid.
  std::sort(axes.rbegin(), axes.rend());
  auto result = x;
  for (int64_t axis : axes) result = result.squeeze(axis);
  return {result};
}

std::vector<torch::Tensor> expand(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  // ONNX Expand broadcasts both ways: a target dimension of 1 keeps the input's size.
  return {x.expand(at::infer_size(x.sizes(), ctx.input_ints(1)))};
}

std::vector<torch::Tensor> shape(const OpContext& ctx) {
  const auto sizes = ctx.input(0).sizes().vec();
  const auto rank = static_cast<int64_t>(sizes.size());
  // start/end (opset 15) are clamped to [0, rank] after wrapping negatives.
  const auto clamp_index = [rank](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
  const int64_t start = clamp_index(ctx.attr_int("start", 0));
  const int64_t end = std::max(start, clamp_index(ctx.attr_int("end", rank)));
  const std::vector<int64_t> selected(sizes.begin() + start, sizes.begin() + end);
  return {torch::tensor(selected, torch::TensorOptions().dtype(torch::kLong))};
}

std::vector<torch::Tensor> split(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), x.dim());
  const int64_t dim = x.size(axis);
  // Sizes come from the `split` attribute (< 13) or input (>= 13); otherwise equal parts, one
  // per output, or num_outputs (opset 18) parts where the last may be smaller.
  std::vector<int64_t> sizes = ctx.opset() >= 13 ? (ctx.has_input(1) ? ctx.input_ints(1) : std::vector<int64_t>{})
                                                  : ctx.attr_ints("split");
  if (sizes.empty()) {
    const auto parts = static_cast<int64_t>(ctx.has_attribute("num_outputs") ? ctx.attr_int("num_outputs", 1)
                                                                             : ctx.output_count());
    const int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t begin = 0; begin < dim; begin += chunk) sizes.push_back(std::min(chunk, dim - begin));
    if (static_cast<int64_t>(sizes.size()) != parts) ctx.fail("cannot split the axis into the requested parts");
  }
  return torch::split_with_sizes(x, sizes, axis);
}

std::vector<torch::Tensor> tile(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const auto repeats = ctx.input_ints(1);
  if (static_cast<int64_t>(repeats.size()) != x.dim()) ctx.fail("repeats must hold one value per input axis");
  if (std::any_of(repeats.begin(), repeats.end(), [](int64_t r) { return r < 0; })) {
    ctx.fail("repeats must not be negative");
  }
  return {x.repeat(repeats)};
}

// Checks an N x C x H x W input and a positive blocksize for DepthToSpace/SpaceToDepth.
int64_t block_size(const OpContext& ctx) {
  if (ctx.input(0).dim() != 4) ctx.fail("input must be 4-D (N x C x H x W)");
  const int64_t block = ctx.attr_int("blocksize", 0);
  if (block <= 0) ctx.fail("blocksize must be positive");
  return block;
}

std::vector<torch::Tensor> depth_to_space(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const int64_t b = block_size(ctx);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (c % (b * b) != 0) ctx.fail("channel count must be divisible by blocksize squared");
  const int64_t depth = c / (b * b);
  // DCR takes channels as (row offset, column offset, depth); CRD as (depth, row offset, column offset).
  const std::string mode = ctx.attr_string("mode", "DCR");
  torch::Tensor blocks;
  if (mode == "DCR") {
    blocks = x.reshape({n, b, b, depth, h, w}).permute({0, 3, 4, 1, 5, 2});
  } else if (mode == "CRD") {
    blocks = x.reshape({n, depth, b, b, h, w}).permute({0, 1, 4, 2, 5, 3});
  } else {
    ctx.fail("mode must be DCR or CRD, not '" + mode + "'");
  }
  return {blocks.reshape({n, depth, h * b, w * b})};
}

std::vector<torch::Tensor> space_to_depth(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  const int64_t b = block_size(ctx);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (h % b != 0 || w % b != 0) ctx.fail("height and width must be divisible by blocksize");
  const auto blocks = x.reshape({n, c, h / b, b, w / b, b}).permute({0, 3, 5, 1, 2, 4});
  return {blocks.reshape({n, c * b * b, h / b, w / b})};
}

std::vector<torch::Tensor> trilu(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  if (x.dim() < 2) ctx.fail("input must have rank 2 or more");
  int64_t k = 0;
  if (ctx.has_input(1)) {
    const auto values = ctx.input_ints(1);
    if (values.size() != 1) ctx.fail("k must be a single value");
    k = values.front();
  }
  return {ctx.attr_int("upper", 1) != 0 ? torch::triu(x, k) : torch::tril(x, k)};
}

std::vector<torch::Tensor> pad(const OpContext& ctx) {
  const auto& x = ctx.input(0);
  // pads/value were attributes before opset 11; opset 18 adds optional axes.
  const auto pads = ctx.opset() >= 11 ? ctx.input_ints(1) : ctx.attr_ints("pads");
  const double value = ctx.opset() >= 11 ? (ctx.has_input(2) ? ctx.input(2).item<double>() : 0.0)
                                         : ctx.attr_float("value", 0.0F);
  std::vector<int64_t> axes;
  if (ctx.has_input(3)) {
    for (int64_t axis : ctx.input_ints(3)) axes.push_back(normalize_axis(ctx, axis, x.dim()));
  } else {
    for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size()) ctx.fail("pads must hold a begin and an end value per padded axis");
  // ONNX lists all begins then all ends; ATen wants (begin, end) pairs from the last dimension.
  std::vector<int64_t> begin(x.dim(), 0);
  std::vector<int64_t> end(x.dim(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    begin[axes[i]] = pads[i];
    end[axes[i]] = pads[i + axes.size()];
  }
  std::vector<int64_t> aten_pad;
  for (int64_t d = x.dim(); d-- > 0;) {
    aten_pad.push_back(begin[d]);
    aten_pad.push_back(end[d]);
  }
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode == "constant") return {torch::constant_pad_nd(x, aten_pad, value)};
  // ATen's reflect/replicate padding only pads the trailing (spatial) dimensions of N, C, ... input.
  if (x.dim() < 3 || begin[0] != 0 || end[0] != 0 || begin[1] != 0 || end[1] != 0) {
    ctx.fail("mode '" + mode + "' is only supported for padding spatial axes of N x C x ... input");
  }
  aten_pad.resize(2 * (x.dim() - 2));
  namespace F = torch::nn::functional;
  F::PadFuncOptions options(aten_pad);
  if (mode == "reflect") {
    options.mode(torch::kReflect);
  } else if (mode == "edge") {
    options.mode(torch::kReplicate);
  } else {
    ctx.fail("unknown mode '" + mode + "'");
  }
  // These ATen kernels are floating-point only; copying values is exact through double.
  if (x.is_floating_point()) return {F::pad(x, options)};
  return {F::pad(x.to(torch::kDouble), options).to(x.scalar_type())};
}

}  // namespace

void register_shape_ops(OperatorRegistry& registry) {
  registry.add("Flatten", flatten);
  registry.add("Reshape", reshape);
  registry.add("Transpose", transpose);
  registry.add("Concat", concat);
  registry.add("Slice", slice);
  registry.add("Gather", gather);
  registry.add("GatherElements", gather_elements);
  registry.add("GatherND", gather_nd);
  registry.add("ScatterElements", scatter_elements);
  registry.add("NonZero", non_zero);
  registry.add("Unsqueeze", unsqueeze);
  registry.add("Squeeze", squeeze);
  registry.add("Expand", expand);
  registry.add("Shape", shape);
  registry.add("Split", split);
  registry.add("Pad", pad);
  registry.add("Tile", tile);
  registry.add("DepthToSpace", depth_to_space);
  registry.add("SpaceToDepth", space_to_depth);
  registry.add("Trilu", trilu);
}

}  // namespace mltk::runtime
