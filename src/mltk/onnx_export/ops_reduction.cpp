// Reductions over dimensions, and the running sum.
#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// `type` over `axes` (every axis when empty). ReduceSum takes its axes as an input from opset 13;
// the other reductions (ReduceProd, ReduceMean, ...) keep them as an attribute up to opset 17.
std::string reduce(ConversionContext& ctx, const std::string& type, const std::string& x,
                   const std::vector<int64_t>& axes, bool keepdims) {
  const Attribute keep{"keepdims", int64_t{keepdims}};
  if (axes.empty()) return ctx.op(type, {x}, {keep});
  if (type == "ReduceSum" && ctx.opset() >= 13) return ctx.op(type, {x, ctx.int64s(axes)}, {keep});
  return ctx.op(type, {x}, {{"axes", axes}, keep});
}

// A dim argument that may be None, a single int or a list; None and [] mean every dimension.
std::vector<int64_t> dims_arg(ConversionContext& ctx, size_t index) {
  if (ctx.is_none(index)) return {};
  return ctx.ints_arg(index);
}

// aten::sum / mean / prod(self, dim, keepdim, dtype) or (self, dtype).
Converter reduction_with_dtype(const std::string& type) {
  return [type](ConversionContext& ctx) {
    if (ctx.node().inputs().size() <= 2) {
      require_no_dtype(ctx, 1);
      return reduce(ctx, type, ctx.input(0), {}, false);
    }
    require_no_dtype(ctx, 3);
    return reduce(ctx, type, ctx.input(0), dims_arg(ctx, 1), ctx.bool_arg(2));
  };
}

// aten::amax / amin / logsumexp(self, dim, keepdim)
Converter reduce_dims(const std::string& type) {
  return [type](ConversionContext& ctx) { return reduce(ctx, type, ctx.input(0), dims_arg(ctx, 1), ctx.bool_arg(2)); };
}

// aten::max / aten::min: (self) over everything; (self, other) element-wise; (self, dim, keepdim)
// the values and their indices.
MultiConverter max_or_min(const std::string& element_wise, const std::string& reduction, const std::string& index) {
  return [=](ConversionContext& ctx) -> std::vector<std::string> {
    const auto inputs = ctx.node().inputs().size();
    if (inputs == 1) return {reduce(ctx, reduction, ctx.input(0), {}, false)};
    if (inputs == 2) return {ctx.op(element_wise, {ctx.input(0), ctx.input_like(1, 0)})};
    const auto dim = ctx.int_arg(1);
    const auto keep = ctx.bool_arg(2);
    return {reduce(ctx, reduction, ctx.input(0), {dim}, keep),
            ctx.op(index, {ctx.input(0)}, {{"axis", dim}, {"keepdims", int64_t{keep}}})};
  };
}

// aten::argmax / argmin(self, dim, keepdim); without dim, the index into the flattened tensor.
Converter arg_reduce(const std::string& type) {
  return [type](ConversionContext& ctx) {
    if (ctx.is_none(1))
      return ctx.op(type, {ctx.op("Reshape", {ctx.input(0), ctx.int64s({-1})})}, {{"axis", 0}, {"keepdims", 0}});
    return ctx.op(type, {ctx.input(0)}, {{"axis", ctx.int_arg(1)}, {"keepdims", int64_t{ctx.bool_arg(2)}}});
  };
}

// aten::var / aten::std: (self, unbiased), (self, dim, unbiased, keepdim) or (self, dim, correction,
// keepdim). The number of elements reduced comes from the traced sizes.
Converter variance(bool standard_deviation) {
  return [standard_deviation](ConversionContext& ctx) {
    const auto inputs = ctx.node().inputs().size();
    std::vector<int64_t> axes;
    bool keepdims = false;
    double correction = 1;
    if (inputs == 2) {
      correction = ctx.bool_arg(1) ? 1 : 0;
    } else {
      axes = dims_arg(ctx, 1);
      keepdims = ctx.bool_arg(3);
      const auto& third = ctx.static_value(ctx.node().input(2));
      correction = third.isBool() ? (third.toBool() ? 1 : 0) : third.isNone() ? 1 : ctx.double_arg(2);
    }
    const auto sizes = ctx.sizes(0);
    const auto rank = static_cast<int64_t>(sizes.size());
    if (axes.empty())
      for (int64_t axis = 0; axis < rank; ++axis) axes.push_back(axis);
    double count = 1;
    for (auto axis : axes) count *= static_cast<double>(sizes.at(axis < 0 ? axis + rank : axis));
    const auto type = ctx.scalar_type(0);
    const auto x = ctx.input(0);
    const auto centered = ctx.op("Sub", {x, reduce(ctx, "ReduceMean", x, axes, true)});
    auto result = reduce(ctx, "ReduceMean", ctx.op("Mul", {centered, centered}), axes, keepdims);
    if (correction != 0) result = ctx.op("Mul", {result, ctx.scalar(count / (count - correction), type)});
    return standard_deviation ? ctx.op("Sqrt", {result}) : result;
  };
}

// A p-norm over `axes`: ReduceL1 and ReduceL2 for p = 1 and 2, else (sum |x|^p)^(1/p).
std::string p_norm(ConversionContext& ctx, double p, const std::vector<int64_t>& axes, bool keepdims) {
  const auto x = ctx.input(0);
  if (p == 1) return reduce(ctx, "ReduceL1", x, axes, keepdims);
  if (p == 2) return reduce(ctx, "ReduceL2", x, axes, keepdims);
  const auto type = ctx.scalar_type(0);
  const auto powered = ctx.op("Pow", {ctx.op("Abs", {x}), ctx.scalar(p, type)});
  return ctx.op("Pow", {reduce(ctx, "ReduceSum", powered, axes, keepdims), ctx.scalar(1.0 / p, type)});
}

// aten::norm(self, p, dim, keepdim[, dtype]) or (self, p)
std::string convert_norm(ConversionContext& ctx) {
  const double p = ctx.is_none(1) ? 2.0 : ctx.double_arg(1);
  if (ctx.node().inputs().size() <= 2) return p_norm(ctx, p, {}, false);
  return p_norm(ctx, p, dims_arg(ctx, 2), ctx.bool_arg(3));
}

// aten::linalg_vector_norm(self, ord, dim, keepdim, dtype)
std::string convert_linalg_vector_norm(ConversionContext& ctx) {
  require_no_dtype(ctx, 4);
  return p_norm(ctx, ctx.double_arg(1), dims_arg(ctx, 2), ctx.bool_arg(3));
}

// aten::frobenius_norm(self, dim, keepdim)
std::string convert_frobenius_norm(ConversionContext& ctx) {
  return p_norm(ctx, 2, dims_arg(ctx, 1), ctx.bool_arg(2));
}

// aten::cumsum(self, dim, dtype)
std::string convert_cumsum(ConversionContext& ctx) {
  require_no_dtype(ctx, 2);
  return ctx.op("CumSum", {ctx.input(0), ctx.scalar(static_cast<double>(ctx.int_arg(1)), at::kLong)});
}

}  // namespace

void require_no_dtype(ConversionContext& ctx, size_t index) {
  if (index < ctx.node().inputs().size() && !ctx.is_none(index))
    throw std::invalid_argument("a dtype argument is not supported; cast the input with .to(dtype) first");
}

void register_reduction_ops(ConverterRegistry& registry) {
  registry.add("aten::sum", {"ReduceSum"}, reduction_with_dtype("ReduceSum"));
  registry.add("aten::mean", {"ReduceMean"}, reduction_with_dtype("ReduceMean"));
  registry.add("aten::prod", {"ReduceProd"}, reduction_with_dtype("ReduceProd"));
  registry.add("aten::amax", {"ReduceMax"}, reduce_dims("ReduceMax"));
  registry.add("aten::amin", {"ReduceMin"}, reduce_dims("ReduceMin"));
  registry.add("aten::logsumexp", {"ReduceLogSumExp"}, reduce_dims("ReduceLogSumExp"));
  registry.add_outputs("aten::max", {"ReduceMax", "Max", "ArgMax"}, max_or_min("Max", "ReduceMax", "ArgMax"));
  registry.add_outputs("aten::min", {"ReduceMin", "Min", "ArgMin"}, max_or_min("Min", "ReduceMin", "ArgMin"));
  registry.add("aten::argmax", {"ArgMax", "Reshape"}, arg_reduce("ArgMax"));
  registry.add("aten::argmin", {"ArgMin", "Reshape"}, arg_reduce("ArgMin"));
  registry.add("aten::var", {"ReduceMean", "Sub", "Mul"}, variance(false));
  registry.add("aten::std", {"ReduceMean", "Sub", "Mul", "Sqrt"}, variance(true));
  const std::set<std::string> norms{"ReduceL1", "ReduceL2", "ReduceSum", "Abs", "Pow"};
  registry.add("aten::norm", norms, convert_norm);
  registry.add("aten::linalg_vector_norm", norms, convert_linalg_vector_norm);
  registry.add("aten::frobenius_norm", norms, convert_frobenius_norm);
  registry.add("aten::cumsum", {"CumSum"}, convert_cumsum);
}

}  // namespace mltk::onnx_export
