#pragma once
// Conversions between LibTorch tensors and ONNX TensorProtos, shared by the converter (constants,
// initializers) and the graph passes (which rewrite initializers, e.g. when folding BatchNorm).
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <string>

namespace mltk::onnx_export {

// ONNX TensorProto::DataType for a LibTorch scalar type; throws for types the exporter does not emit.
int32_t onnx_data_type(at::ScalarType type);

// A copy of `tensor` (any device, any layout) as a little-endian raw_data TensorProto.
onnx::TensorProto to_tensor_proto(const at::Tensor& tensor, const std::string& name);

// A CPU tensor holding the proto's data, whether stored as raw_data or in the typed fields.
at::Tensor from_tensor_proto(const onnx::TensorProto& proto);

}  // namespace mltk::onnx_export
