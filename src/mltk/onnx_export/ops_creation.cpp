// Tensors created in the shape of another. ATen's `scalar - tensor` and `scalar / tensor` are
// empty_like(y).fill_(x).sub_(y), which the tracer records as empty_like and full_like.
#include "mltk/onnx_export/converters.h"

#include "mltk/onnx_export/tensor_proto.h"

namespace mltk::onnx_export {
namespace {

// The dtype of a *_like result: its dtype argument (a ScalarType code) when given, else the input's.
at::ScalarType like_dtype(ConversionContext& ctx, size_t dtype_index) {
  if (ctx.is_none(dtype_index)) return ctx.scalar_type(0);
  return static_cast<at::ScalarType>(ctx.int_arg(dtype_index));
}

// `value` broadcast to the run-time shape of input 0, so the result follows a dynamic batch.
std::string filled_like(ConversionContext& ctx, double value, size_t dtype_index) {
  return ctx.op("Expand", {ctx.scalar(value, like_dtype(ctx, dtype_index)), ctx.op("Shape", {ctx.input(0)})});
}

// aten::empty_like(self, dtype, layout, device, pin_memory, memory_format): the contents are
// unspecified, so the input itself (cast if another dtype is asked for) is a valid result.
std::string convert_empty_like(ConversionContext& ctx) {
  if (ctx.is_none(1)) return ctx.op("Identity", {ctx.input(0)});
  return ctx.op("Cast", {ctx.input(0)}, {{"to", int64_t{onnx_data_type(like_dtype(ctx, 1))}}});
}

// aten::full_like(self, fill_value, dtype, layout, device, pin_memory, memory_format)
std::string convert_full_like(ConversionContext& ctx) { return filled_like(ctx, ctx.double_arg(1), 2); }

// aten::zeros_like / ones_like(self, dtype, layout, device, pin_memory, memory_format)
std::string convert_zeros_like(ConversionContext& ctx) { return filled_like(ctx, 0.0, 1); }
std::string convert_ones_like(ConversionContext& ctx) { return filled_like(ctx, 1.0, 1); }

}  // namespace

void register_creation_ops(ConverterRegistry& registry) {
  registry.add("aten::empty_like", {"Identity", "Cast"}, convert_empty_like);
  registry.add("aten::full_like", {"Expand", "Shape"}, convert_full_like);
  registry.add("aten::zeros_like", {"Expand", "Shape"}, convert_zeros_like);
  registry.add("aten::ones_like", {"Expand", "Shape"}, convert_ones_like);
}

}  // namespace mltk::onnx_export
