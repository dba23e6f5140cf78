// Indexing, reordering, repetition, creation of new tensors, sorting and lookup tables.
#include "mltk/onnx_export/converters.h"

#include "mltk/onnx_export/tensor_proto.h"

#include <limits>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// aten::index_select(self, dim, index)
std::string convert_index_select(ConversionContext& ctx) {
  return ctx.op("Gather", {ctx.input(0), ctx.input(2)}, {{"axis", ctx.int_arg(1)}});
}

// aten::gather(self, dim, index, sparse_grad)
std::string convert_gather(ConversionContext& ctx) {
  return ctx.op("GatherElements", {ctx.input(0), ctx.input(2)}, {{"axis", ctx.int_arg(1)}});
}

// aten::flip(self, dims): a slice with step -1 from the last element past the first.
std::string convert_flip(ConversionContext& ctx) {
  const auto dims = ctx.ints_arg(1);
  const std::vector<int64_t> starts(dims.size(), -1), ends(dims.size(), std::numeric_limits<int64_t>::min()),
      steps(dims.size(), -1);
  return ctx.op("Slice", {ctx.input(0), ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(dims), ctx.int64s(steps)});
}

// aten::roll(self, shifts, dims): per dimension, the last `shift` elements moved to the front.
std::string convert_roll(ConversionContext& ctx) {
  const auto shifts = ctx.ints_arg(1), dims = ctx.ints_arg(2);
  if (dims.empty() || dims.size() != shifts.size())
    throw std::invalid_argument("roll needs one dimension per shift (rolling the flattened tensor is not supported)");
  const auto sizes = ctx.sizes(0);
  auto x = ctx.input(0);
  for (size_t i = 0; i < dims.size(); ++i) {
    const auto dim = dims[i] < 0 ? dims[i] + static_cast<int64_t>(sizes.size()) : dims[i];
    const auto size = sizes.at(dim);
    const auto shift = ((shifts[i] % size) + size) % size;
    if (shift == 0) continue;
    const auto axis = ctx.int64s({dim});
    const auto tail = ctx.op("Slice", {x, ctx.int64s({size - shift}), ctx.int64s({size}), axis});
    const auto head = ctx.op("Slice", {x, ctx.int64s({0}), ctx.int64s({size - shift}), axis});
    x = ctx.op("Concat", {tail, head}, {{"axis", dim}});
  }
  return x;
}

// aten::repeat(self, repeats): Tile, after giving the input leading dimensions of 1 when repeats has more.
std::string convert_repeat(ConversionContext& ctx) {
  const auto repeats = ctx.ints_arg(1);
  auto x = ctx.input(0);
  const auto rank = ctx.rank(0);
  const auto extra = static_cast<int64_t>(repeats.size()) - rank;
  if (extra > 0) {
    std::vector<int64_t> axes;
    for (int64_t axis = 0; axis < extra; ++axis) axes.push_back(axis);
    x = ctx.unsqueeze(x, axes);
  }
  return ctx.op("Tile", {x, ctx.int64s(repeats)});
}

// A number argument (a constant, or a size computed at run time) as a 0-d tensor of `type`.
std::string number_as(ConversionContext& ctx, size_t index, at::ScalarType type) {
  const auto* value = ctx.node().input(index);
  if (ctx.is_static(value)) return ctx.scalar(ctx.double_arg(index), type);
  const auto name = ctx.input(index);
  return ctx.op("Cast", {name}, {{"to", int64_t{onnx_data_type(type)}}});
}

// aten::arange(end, dtype, layout, device, pin_memory), (start, end, ...), (start, end, step, ...).
std::string convert_arange(ConversionContext& ctx) {
  const auto inputs = ctx.node().inputs().size();
  const auto type = ctx.output_type().value_or(at::kFloat);
  if (inputs == 5) return ctx.op("Range", {ctx.scalar(0, type), number_as(ctx, 0, type), ctx.scalar(1, type)});
  if (inputs == 6) return ctx.op("Range", {number_as(ctx, 0, type), number_as(ctx, 1, type), ctx.scalar(1, type)});
  return ctx.op("Range", {number_as(ctx, 0, type), number_as(ctx, 1, type), number_as(ctx, 2, type)});
}

// aten::zeros / ones(size, dtype, layout, device, pin_memory) and full(size, fill_value, ...): the
// value broadcast to a shape that may be computed at run time.
std::string filled(ConversionContext& ctx, double value) {
  return ctx.op("Expand", {ctx.scalar(value, ctx.output_type().value_or(at::kFloat)), int_list_tensor(ctx, 0)});
}
std::string convert_zeros(ConversionContext& ctx) { return filled(ctx, 0); }
std::string convert_ones(ConversionContext& ctx) { return filled(ctx, 1); }
std::string convert_full(ConversionContext& ctx) { return filled(ctx, ctx.double_arg(1)); }

// aten::topk(self, k, dim, largest, sorted): values and int64 indices.
std::vector<std::string> convert_topk(ConversionContext& ctx) {
  auto* node = ctx.op_node("TopK", {ctx.input(0), ctx.int64s({ctx.int_arg(1)})},
                           {{"axis", ctx.int_arg(2)}, {"largest", int64_t{ctx.bool_arg(3)}}, {"sorted", int64_t{ctx.bool_arg(4)}}},
                           2);
  return {node->output(0), node->output(1)};
}

// aten::sort(self, dim, descending): a TopK of the whole dimension, whose size the trace fixed.
std::vector<std::string> convert_sort(ConversionContext& ctx) {
  const auto dim = ctx.dim_arg(1, 0);
  const auto size = ctx.sizes(0).at(dim);
  auto* node = ctx.op_node("TopK", {ctx.input(0), ctx.int64s({size})},
                           {{"axis", dim}, {"largest", int64_t{ctx.bool_arg(2)}}, {"sorted", 1}}, 2);
  return {node->output(0), node->output(1)};
}

// aten::argsort(self, dim, descending): the indices of aten::sort.
std::string convert_argsort(ConversionContext& ctx) { return convert_sort(ctx).at(1); }

// aten::embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse): rows of the table.
std::string convert_embedding(ConversionContext& ctx) {
  return ctx.op("Gather", {ctx.input(0), ctx.input(1)}, {{"axis", 0}});
}

}  // namespace

void register_indexing_ops(ConverterRegistry& registry) {
  registry.add("aten::index_select", {"Gather"}, convert_index_select);
  registry.add("aten::gather", {"GatherElements"}, convert_gather);
  registry.add("aten::flip", {"Slice"}, convert_flip);
  registry.add("aten::roll", {"Slice", "Concat"}, convert_roll);
  registry.add("aten::repeat", {"Tile", "Unsqueeze"}, convert_repeat);
  registry.add("aten::arange", {"Range", "Cast"}, convert_arange);
  registry.add("aten::zeros", {"Expand", "Concat", "Reshape"}, convert_zeros);
  registry.add("aten::ones", {"Expand", "Concat", "Reshape"}, convert_ones);
  registry.add("aten::full", {"Expand", "Concat", "Reshape"}, convert_full);
  registry.add_outputs("aten::topk", {"TopK"}, convert_topk);
  registry.add_outputs("aten::sort", {"TopK"}, convert_sort);
  registry.add("aten::argsort", {"TopK"}, convert_argsort);
  registry.add("aten::embedding", {"Gather"}, convert_embedding);
}

}  // namespace mltk::onnx_export
