// Shape and layout operators: reshaping, transposition, slicing, concatenation, size queries.
#include "mltk/onnx_export/converters.h"

#include "mltk/onnx_export/tensor_proto.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace mltk::onnx_export {

std::string int_list_tensor(ConversionContext& ctx, size_t index, bool minus_one_as_one) {
  auto fix = [minus_one_as_one](int64_t value) { return minus_one_as_one && value == -1 ? int64_t{1} : value; };
  const auto* list = ctx.node().input(index);
  if (ctx.is_static(list)) {
    auto values = ctx.ints_arg(index);
    for (auto& value : values) value = fix(value);
    return ctx.int64s(values);
  }
  std::vector<std::string> parts;
  for (const auto* element : ctx.sequence(list)) {
    if (ctx.is_static(element))
      parts.push_back(ctx.int64s({fix(ctx.static_value(element).toInt())}));
    else
      parts.push_back(ctx.op("Reshape", {ctx.tensor(element), ctx.int64s({1})}));
  }
  return ctx.op("Concat", parts, {{"axis", 0}});
}

std::string per_channel(ConversionContext& ctx, const std::string& parameter, int64_t rank) {
  std::vector<int64_t> shape{-1};
  shape.insert(shape.end(), static_cast<size_t>(std::max<int64_t>(rank - 2, 0)), 1);
  return ctx.op("Reshape", {parameter, ctx.int64s(shape)});
}

namespace {

// aten::flatten(self, start_dim, end_dim). Dimensions before start_dim are copied (Reshape's 0),
// so the graph stays valid for any batch size; dimensions after end_dim keep their traced size.
std::string convert_flatten(ConversionContext& ctx) {
  const auto rank = ctx.rank(0);
  if (rank == 0) return ctx.op("Reshape", {ctx.input(0), ctx.int64s({1})});
  const auto start = ctx.dim_arg(1, 0), end = ctx.dim_arg(2, 0);
  if (start == 1 && end == rank - 1) return ctx.op("Flatten", {ctx.input(0)}, {{"axis", 1}});
  std::vector<int64_t> shape(static_cast<size_t>(start), 0);
  shape.push_back(-1);
  if (end + 1 < rank) {
    const auto sizes = ctx.sizes(0);
    shape.insert(shape.end(), sizes.begin() + end + 1, sizes.end());
  }
  return ctx.op("Reshape", {ctx.input(0), ctx.int64s(shape)});
}

// aten::reshape / aten::view(self, shape)
std::string convert_reshape(ConversionContext& ctx) {
  return ctx.op("Reshape", {ctx.input(0), int_list_tensor(ctx, 1)});
}

// aten::expand(self, size, implicit)
std::string convert_expand(ConversionContext& ctx) {
  return ctx.op("Expand", {ctx.input(0), int_list_tensor(ctx, 1, /*minus_one_as_one=*/true)});
}

// aten::expand_as(self, other): the run-time shape of `other`, so it follows a dynamic batch.
std::string convert_expand_as(ConversionContext& ctx) {
  return ctx.op("Expand", {ctx.input(0), ctx.op("Shape", {ctx.input(1)})});
}

std::vector<int64_t> normalized_dims(std::vector<int64_t> dims, int64_t rank) {
  for (auto& dim : dims)
    if (dim < 0) dim += rank;
  return dims;
}

// aten::permute(self, dims)
std::string convert_permute(ConversionContext& ctx) {
  return ctx.op("Transpose", {ctx.input(0)}, {{"perm", normalized_dims(ctx.ints_arg(1), ctx.rank(0))}});
}

// aten::transpose(self, dim0, dim1)
std::string convert_transpose(ConversionContext& ctx) {
  std::vector<int64_t> perm(static_cast<size_t>(ctx.rank(0)));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[ctx.dim_arg(1, 0)], perm[ctx.dim_arg(2, 0)]);
  return ctx.op("Transpose", {ctx.input(0)}, {{"perm", perm}});
}

// aten::cat(tensors, dim)
std::string convert_cat(ConversionContext& ctx) {
  return ctx.op("Concat", ctx.input_list(0), {{"axis", ctx.int_arg(1)}});
}

// aten::stack(tensors, dim): concatenation along a new axis.
std::string convert_stack(ConversionContext& ctx) {
  auto inputs = ctx.input_list(0);
  const auto dim = ctx.int_arg(1);
  for (auto& input : inputs) input = ctx.unsqueeze(input, {dim});
  return ctx.op("Concat", inputs, {{"axis", dim}});
}

// aten::slice(self, dim, start, end, step); start/end None mean the whole range.
std::string convert_slice(ConversionContext& ctx) {
  const auto start = ctx.is_none(2) ? 0 : ctx.int_arg(2);
  const auto end = ctx.is_none(3) ? std::numeric_limits<int64_t>::max() : ctx.int_arg(3);
  return ctx.op("Slice", {ctx.input(0), ctx.int64s({start}), ctx.int64s({end}), ctx.int64s({ctx.int_arg(1)}),
                          ctx.int64s({ctx.int_arg(4)})});
}

// aten::narrow(self, dim, start, length): the slice [start, start + length) of one dimension. A
// negative start counts from the end, but start + length must not wrap around past 0 for Slice.
std::string convert_narrow(ConversionContext& ctx) {
  auto start = ctx.int_arg(2);
  if (start < 0) start += ctx.sizes(0).at(ctx.dim_arg(1, 0));
  return ctx.op("Slice", {ctx.input(0), ctx.int64s({start}), ctx.int64s({start + ctx.int_arg(3)}),
                          ctx.int64s({ctx.int_arg(1)})});
}

// aten::select(self, dim, index): a scalar-index Gather removes the dimension, as select does.
std::string convert_select(ConversionContext& ctx) {
  return ctx.op("Gather", {ctx.input(0), ctx.scalar(static_cast<double>(ctx.int_arg(2)), at::kLong)},
                {{"axis", ctx.int_arg(1)}});
}

// aten::size(self[, dim]): computed at run time so that sizes used in the graph follow the input.
std::string convert_size(ConversionContext& ctx) {
  const auto shape = ctx.op("Shape", {ctx.input(0)});
  if (ctx.node().inputs().size() < 2) return shape;
  return ctx.op("Gather", {shape, ctx.scalar(static_cast<double>(ctx.int_arg(1)), at::kLong)}, {{"axis", 0}});
}

// aten::unsqueeze(self, dim); a negative dim counts from the end of the *output*.
std::string convert_unsqueeze(ConversionContext& ctx) {
  auto dim = ctx.int_arg(1);
  if (dim < 0) dim += ctx.rank(0) + 1;
  return ctx.unsqueeze(ctx.input(0), {dim});
}

// aten::squeeze(self[, dim]); without dim, every dimension of traced size 1 goes. aten ignores a
// dim whose size is not 1, whereas ONNX Squeeze rejects it.
std::string convert_squeeze(ConversionContext& ctx) {
  const auto sizes = ctx.sizes(0);
  std::vector<int64_t> axes;
  if (ctx.node().inputs().size() > 1) {
    const auto dim = ctx.dim_arg(1, 0);
    if (sizes[dim] == 1) axes.push_back(dim);
  } else {
    for (size_t i = 0; i < sizes.size(); ++i)
      if (sizes[i] == 1) axes.push_back(static_cast<int64_t>(i));
  }
  if (axes.empty()) return ctx.op("Identity", {ctx.input(0)});
  return ctx.squeeze(ctx.input(0), axes);
}

// aten::contiguous / clone / detach: memory layout and autograd only, no value change.
std::string convert_identity(ConversionContext& ctx) { return ctx.op("Identity", {ctx.input(0)}); }

// Part sizes of splitting a dimension of traced size `size` into parts of `part` (the last smaller).
std::vector<int64_t> uniform_parts(int64_t size, int64_t part) {
  std::vector<int64_t> parts;
  for (int64_t done = 0; done < size; done += part) parts.push_back(std::min(part, size - done));
  return parts;
}

// aten::chunk(self, chunks, dim): parts of ceil(size / chunks), as torch.chunk.
std::vector<std::string> convert_chunk(ConversionContext& ctx) {
  const auto dim = ctx.dim_arg(2, 0);
  const auto size = ctx.sizes(0).at(dim), chunks = ctx.int_arg(1);
  return ctx.split(ctx.input(0), dim, uniform_parts(size, (size + chunks - 1) / chunks));
}

// aten::split(self, split_size or split_sizes, dim) and aten::split_with_sizes(self, sizes, dim)
std::vector<std::string> convert_split(ConversionContext& ctx) {
  const auto dim = ctx.dim_arg(2, 0);
  const auto& sizes_arg = ctx.static_value(ctx.node().input(1));
  const auto parts = sizes_arg.isInt() ? uniform_parts(ctx.sizes(0).at(dim), sizes_arg.toInt()) : ctx.ints_arg(1);
  return ctx.split(ctx.input(0), dim, parts);
}

// aten::unbind(self, dim): parts of size 1 with the dimension removed.
std::vector<std::string> convert_unbind(ConversionContext& ctx) {
  const auto dim = ctx.dim_arg(1, 0);
  auto parts = ctx.split(ctx.input(0), dim, std::vector<int64_t>(ctx.sizes(0).at(dim), 1));
  for (auto& part : parts) part = ctx.squeeze(part, {dim});
  return parts;
}

// aten::to / type_as (every overload: dtype, device, other tensor). The traced result type says
// which dtype came out, whichever argument asked for it; a device change means nothing in ONNX.
std::string convert_to(ConversionContext& ctx) {
  const auto result = ctx.output_type();
  if (!result || *result == ctx.scalar_type(0)) return ctx.op("Identity", {ctx.input(0)});
  return ctx.op("Cast", {ctx.input(0)}, {{"to", int64_t{onnx_data_type(*result)}}});
}

}  // namespace

void register_shape_ops(ConverterRegistry& registry) {
  registry.add_list("aten::chunk", {"Split"}, convert_chunk);
  registry.add_list("aten::split", {"Split"}, convert_split);
  registry.add_list("aten::split_with_sizes", {"Split"}, convert_split);
  // The unsafe_ forms differ only in skipping autograd's view checks.
  registry.add_list("aten::unsafe_chunk", {"Split"}, convert_chunk);
  registry.add_list("aten::unsafe_split", {"Split"}, convert_split);
  registry.add_list("aten::unsafe_split_with_sizes", {"Split"}, convert_split);
  registry.add_list("aten::unbind", {"Split", "Squeeze"}, convert_unbind);
  registry.add("aten::flatten", {"Flatten", "Reshape"}, convert_flatten);
  registry.add("aten::reshape", {"Reshape", "Concat"}, convert_reshape);
  registry.add("aten::view", {"Reshape", "Concat"}, convert_reshape);
  registry.add("aten::expand", {"Expand", "Reshape", "Concat"}, convert_expand);
  registry.add("aten::expand_as", {"Expand", "Shape"}, convert_expand_as);
  registry.add("aten::permute", {"Transpose"}, convert_permute);
  registry.add("aten::transpose", {"Transpose"}, convert_transpose);
  registry.add("aten::cat", {"Concat"}, convert_cat);
  registry.add("aten::stack", {"Unsqueeze", "Concat"}, convert_stack);
  registry.add("aten::slice", {"Slice"}, convert_slice);
  registry.add("aten::narrow", {"Slice"}, convert_narrow);
  registry.add("aten::select", {"Gather"}, convert_select);
  registry.add("aten::size", {"Shape", "Gather"}, convert_size);
  registry.add("aten::unsqueeze", {"Unsqueeze"}, convert_unsqueeze);
  registry.add("aten::squeeze", {"Squeeze", "Identity"}, convert_squeeze);
  registry.add("aten::to", {"Identity", "Cast"}, convert_to);
  registry.add("aten::type_as", {"Identity", "Cast"}, convert_to);
  registry.add("aten::contiguous", {"Identity"}, convert_identity);
  registry.add("aten::clone", {"Identity"}, convert_identity);
  registry.add("aten::detach", {"Identity"}, convert_identity);
}

}  // namespace mltk::onnx_export
