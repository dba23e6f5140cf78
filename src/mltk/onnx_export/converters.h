#pragma once
// The per-operator registry: one conversion function per aten operator, in the spirit of PyTorch's
// torch/onnx/symbolic_opset*.py. A conversion function reads the current node through the context,
// emits ONNX nodes valid for ctx.opset() and returns the ONNX name of the node's (single) output.
#include "mltk/onnx_export/conversion_context.h"

#include <functional>
#include <map>
#include <string>

namespace mltk::onnx_export {

using Converter = std::function<std::string(ConversionContext&)>;
using ConverterRegistry = std::map<std::string, Converter>;  // key: "aten::relu"

// Operators returning a list of tensors (aten::chunk, ...) return one ONNX name per element.
using ListConverter = std::function<std::vector<std::string>(ConversionContext&)>;
using ListConverterRegistry = std::map<std::string, ListConverter>;

// The registries of every supported operator, built once.
const ConverterRegistry& converter_registry();
const ListConverterRegistry& list_converter_registry();

// For aten operators that map one-to-one to a parameterless, single-input ONNX operator.
Converter unary_converter(const std::string& onnx_type);

// Each ops_*.cpp file registers its family of operators.
void register_convolution_ops(ConverterRegistry& registry);
void register_activation_ops(ConverterRegistry& registry);
void register_arithmetic_ops(ConverterRegistry& registry);
void register_shape_ops(ConverterRegistry& registry);
void register_split_ops(ListConverterRegistry& registry);
void register_normalization_ops(ConverterRegistry& registry);
void register_creation_ops(ConverterRegistry& registry);

}  // namespace mltk::onnx_export
