#include "mltk/onnx_export/converters.h"

namespace mltk::onnx_export {

Converter unary_converter(const std::string& onnx_type) {
  return [onnx_type](ConversionContext& ctx) { return ctx.op(onnx_type, {ctx.input(0)}); };
}

const ConverterRegistry& converter_registry() {
  static const ConverterRegistry registry = [] {
    ConverterRegistry built;
    register_convolution_ops(built);
    register_activation_ops(built);
    register_arithmetic_ops(built);
    register_shape_ops(built);
    register_normalization_ops(built);
    register_creation_ops(built);
    return built;
  }();
  return registry;
}

const ListConverterRegistry& list_converter_registry() {
  static const ListConverterRegistry registry = [] {
    ListConverterRegistry built;
    register_split_ops(built);
    return built;
  }();
  return registry;
}

}  // namespace mltk::onnx_export
