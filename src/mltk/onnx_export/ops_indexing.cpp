// Indexing and scattering, reordering, repetition, triangles, creation of new tensors, sorting and lookup tables.
#include "mltk/onnx_export/converters.h"

#include "mltk/onnx_export/tensor_proto.h"

#include <algorithm>
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

// aten::tril / triu(self, diagonal): Trilu from opset 14.
Converter triangle(bool upper) {
  return [upper](ConversionContext& ctx) {
    const auto diagonal = ctx.scalar(static_cast<double>(ctx.int_arg(1)), at::kLong);
    return ctx.op("Trilu", {ctx.input(0), diagonal}, {{"upper", int64_t{upper}}});
  };
}

// Before opset 14: zero where column - row of the last two dimensions lies on the dropped side of
// `diagonal` (tril drops offsets above it, triu below). The index ranges are built from the
// run-time shape, so the mask follows whatever those dimensions are.
Converter triangle_decomposed(bool upper) {
  return [upper](ConversionContext& ctx) {
    const auto x = ctx.input(0);
    const auto shape = ctx.op("Shape", {x});
    auto positions = [&](int64_t axis) {
      const auto size = ctx.op("Gather", {shape, ctx.scalar(static_cast<double>(axis), at::kLong)}, {{"axis", 0}});
      return ctx.op("Range", {ctx.scalar(0, at::kLong), size, ctx.scalar(1, at::kLong)});
    };
    const auto offset = ctx.op("Sub", {positions(-1), ctx.unsqueeze(positions(-2), {1})});
    const auto diagonal = ctx.scalar(static_cast<double>(ctx.int_arg(1)), at::kLong);
    const auto dropped = ctx.op(upper ? "Less" : "Greater", {offset, diagonal});
    return ctx.op("Where", {dropped, ctx.scalar(0, ctx.scalar_type(0)), x});
  };
}

// aten::repeat_interleave(self, repeats, dim, output_size) with a number of repeats: each element
// repeated in place along dim, as a new axis after dim tiled and merged into dim. Without dim it
// works on the flattened tensor.
std::string convert_repeat_interleave(ConversionContext& ctx) {
  auto x = ctx.input(0);
  int64_t dim = 0;
  std::vector<int64_t> trailing;  // the traced sizes of the dimensions after dim
  if (ctx.is_none(2)) {
    x = ctx.op("Reshape", {x, ctx.int64s({-1})});
  } else {
    dim = ctx.dim_arg(2, 0);
    const auto sizes = ctx.sizes(0);
    trailing.assign(sizes.begin() + dim + 1, sizes.end());
  }
  std::vector<int64_t> tiles(static_cast<size_t>(dim) + 2 + trailing.size(), 1);
  tiles[static_cast<size_t>(dim) + 1] = ctx.int_arg(1);
  const auto tiled = ctx.op("Tile", {ctx.unsqueeze(x, {dim + 1}), ctx.int64s(tiles)});
  // Dimensions before dim are copied (Reshape's 0), so a dynamic batch there is kept.
  std::vector<int64_t> shape(static_cast<size_t>(dim), 0);
  shape.push_back(-1);
  shape.insert(shape.end(), trailing.begin(), trailing.end());
  return ctx.op("Reshape", {tiled, ctx.int64s(shape)});
}

// One index tensor of aten::index: the dimension of self it indexes, its ONNX name, dtype and rank.
struct IndexTensor {
  int64_t dim;
  std::string name;
  at::ScalarType type;
  int64_t rank;
};

// The index tensors of aten::index(self, indices); a None in the list keeps a dimension whole (`:`).
std::vector<IndexTensor> index_tensors(ConversionContext& ctx) {
  const auto* list = ctx.node().input(1);
  std::vector<IndexTensor> found;
  auto add_constant = [&](int64_t dim, const at::Tensor& index) {
    found.push_back({dim, ctx.constant(index), index.scalar_type(), index.dim()});
  };
  if (ctx.is_static(list)) {  // constant propagation folded a list of constant index tensors
    const auto values = ctx.static_value(list).toListRef();
    for (size_t i = 0; i < values.size(); ++i)
      if (!values[i].isNone()) add_constant(static_cast<int64_t>(i), values[i].toTensor());
    return found;
  }
  const auto& elements = ctx.sequence(list);
  for (size_t i = 0; i < elements.size(); ++i) {
    const auto* element = elements[i];
    const auto dim = static_cast<int64_t>(i);
    if (ctx.is_static(element)) {
      const auto& value = ctx.static_value(element);
      if (!value.isNone()) add_constant(dim, value.toTensor());
      continue;
    }
    const auto type = element->type()->expect<c10::TensorType>();
    if (!type->dim() || !type->scalarType())
      throw std::invalid_argument("an index tensor of unknown rank or dtype cannot be converted");
    found.push_back({dim, ctx.tensor(element), *type->scalarType(), static_cast<int64_t>(*type->dim())});
  }
  return found;
}

// x[mask]: the positions of the mask's true elements (NonZero), gathered from the dimensions the
// mask covers. A mask over several dimensions must start at the first.
std::string index_by_mask(ConversionContext& ctx, const IndexTensor& mask) {
  const auto positions = ctx.op("NonZero", {mask.name});
  if (mask.rank == 1)
    return ctx.op("Gather", {ctx.input(0), ctx.op("Reshape", {positions, ctx.int64s({-1})})}, {{"axis", mask.dim}});
  if (mask.dim != 0)
    throw std::invalid_argument("a boolean mask over several dimensions must index from the first dimension");
  return ctx.op("GatherND", {ctx.input(0), ctx.op("Transpose", {positions}, {{"perm", std::vector<int64_t>{1, 0}}})});
}

// x[..., i, j, ...] with index tensors on adjacent dimensions: they broadcast to one shape B, the
// indexed dimensions become B. GatherND indexes leading dimensions, so the indexed ones are moved to
// the front, and B is moved back after the dimensions that came before them.
std::string index_adjacent(ConversionContext& ctx, const std::vector<IndexTensor>& indices) {
  const auto first = indices.front().dim, count = static_cast<int64_t>(indices.size());
  int64_t broadcast_rank = 0;
  std::string sum;
  for (const auto& index : indices) {
    broadcast_rank = std::max(broadcast_rank, index.rank);
    sum = sum.empty() ? index.name : ctx.op("Add", {sum, index.name});
  }
  const auto broadcast_shape = ctx.op("Shape", {sum});
  std::vector<std::string> columns;
  for (const auto& index : indices)
    columns.push_back(ctx.unsqueeze(ctx.op("Expand", {index.name, broadcast_shape}), {broadcast_rank}));
  const auto positions = ctx.op("Concat", columns, {{"axis", broadcast_rank}});
  if (first == 0) return ctx.op("GatherND", {ctx.input(0), positions});
  const auto rank = ctx.rank(0);
  std::vector<int64_t> to_front;
  for (int64_t d = first; d < first + count; ++d) to_front.push_back(d);
  for (int64_t d = 0; d < rank; ++d)
    if (d < first || d >= first + count) to_front.push_back(d);
  const auto gathered = ctx.op("GatherND", {ctx.op("Transpose", {ctx.input(0)}, {{"perm", to_front}}), positions});
  std::vector<int64_t> back;
  for (int64_t d = 0; d < first; ++d) back.push_back(broadcast_rank + d);
  for (int64_t d = 0; d < broadcast_rank; ++d) back.push_back(d);
  for (int64_t d = broadcast_rank + first; d < broadcast_rank + rank - count; ++d) back.push_back(d);
  return ctx.op("Transpose", {gathered}, {{"perm", back}});
}

// aten::index(self, indices): advanced indexing with integer index tensors (x[idx], x[:, idx],
// x[i, j]) or a boolean mask (x[mask]).
std::string convert_index(ConversionContext& ctx) {
  const auto indices = index_tensors(ctx);
  if (indices.empty()) throw std::invalid_argument("indexing without an index tensor");
  const auto is_mask = [](const IndexTensor& index) { return index.type == at::kBool || index.type == at::kByte; };
  const auto& first = indices.front();
  if (indices.size() == 1 && is_mask(first)) return index_by_mask(ctx, first);
  if (indices.size() == 1) return ctx.op("Gather", {ctx.input(0), first.name}, {{"axis", first.dim}});
  if (std::any_of(indices.begin(), indices.end(), is_mask))
    throw std::invalid_argument("a boolean mask combined with other index tensors is not supported");
  for (size_t i = 1; i < indices.size(); ++i)
    if (indices[i].dim != indices[i - 1].dim + 1)
      throw std::invalid_argument("index tensors must be on adjacent dimensions (x[:, i, j]); separated ones "
                                  "(x[i, :, j]) are not supported: permute the indexed dimensions together first");
  return index_adjacent(ctx, indices);
}

// aten::nonzero(self): ONNX NonZero gives one row per dimension, torch one row per element.
std::string convert_nonzero(ConversionContext& ctx) {
  return ctx.op("Transpose", {ctx.op("NonZero", {ctx.input(0)})}, {{"perm", std::vector<int64_t>{1, 0}}});
}

// The values aten::scatter(_add)(self, dim, index, src or value) writes: a number broadcast to the
// shape of index, or the leading part of src that index covers (torch reads only that part, ONNX
// requires updates of the index's shape).
std::string scatter_updates(ConversionContext& ctx) {
  const auto index = ctx.input(2);
  if (!ctx.node().input(3)->type()->cast<c10::TensorType>())
    return ctx.op("Expand", {ctx.input_like(3, 0), ctx.op("Shape", {index})});
  if (ctx.sizes(3) == ctx.sizes(2)) return ctx.input(3);
  const auto rank = ctx.rank(2);
  std::vector<int64_t> axes(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) axes[d] = d;
  return ctx.op("Slice", {ctx.input(3), ctx.int64s(std::vector<int64_t>(axes.size(), 0)), ctx.op("Shape", {index}),
                          ctx.int64s(axes)});
}

// aten::scatter(self, dim, index, src or value)
std::string convert_scatter(ConversionContext& ctx) {
  if (ctx.node().inputs().size() > 4)
    throw std::invalid_argument("scatter with a reduce argument is not supported; use scatter_add for sums");
  return ctx.op("ScatterElements", {ctx.input(0), ctx.input(2), scatter_updates(ctx)}, {{"axis", ctx.int_arg(1)}});
}

// aten::scatter_add(self, dim, index, src): ScatterElements sums duplicates from opset 16.
std::string convert_scatter_add(ConversionContext& ctx) {
  return ctx.op("ScatterElements", {ctx.input(0), ctx.input(2), scatter_updates(ctx)},
                {{"axis", ctx.int_arg(1)}, {"reduction", "add"}});
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
  registry.add("aten::tril", {"Shape", "Gather", "Range", "Unsqueeze", "Sub", "Greater", "Where"},
               triangle_decomposed(false), {11, 13});
  registry.add("aten::triu", {"Shape", "Gather", "Range", "Unsqueeze", "Sub", "Less", "Where"},
               triangle_decomposed(true), {11, 13});
  registry.add("aten::tril", {"Trilu"}, triangle(false), {14, kMaxOpset});
  registry.add("aten::triu", {"Trilu"}, triangle(true), {14, kMaxOpset});
  registry.add("aten::repeat_interleave", {"Reshape", "Unsqueeze", "Tile"}, convert_repeat_interleave);
  registry.add("aten::index",
               {"Gather", "GatherND", "NonZero", "Reshape", "Transpose", "Add", "Shape", "Expand", "Unsqueeze",
                "Concat"},
               convert_index);
  registry.add("aten::nonzero", {"NonZero", "Transpose"}, convert_nonzero);
  const std::set<std::string> scatter_emits{"ScatterElements", "Expand", "Shape", "Slice"};
  registry.add("aten::scatter", scatter_emits, convert_scatter);
  registry.add("aten::scatter_", scatter_emits, convert_scatter);  // in place: see aten::relu_ in ops_activation.cpp
  registry.add("aten::scatter_add", scatter_emits, convert_scatter_add, {16, kMaxOpset});
  registry.add("aten::scatter_add_", scatter_emits, convert_scatter_add, {16, kMaxOpset});
}

}  // namespace mltk::onnx_export
