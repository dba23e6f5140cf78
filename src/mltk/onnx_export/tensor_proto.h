#pragma once
// Conversions between LibTorch tensors and ONNX TensorProtos, shared by the converter (constants,
// initializers) and the graph passes (which rewrite initializers, e.g. when folding BatchNorm).
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <map>
#include <string>

namespace mltk::onnx_export {

// ONNX TensorProto::DataType for a LibTorch scalar type; throws for types the exporter does not emit.
int32_t onnx_data_type(at::ScalarType type);

// The bytes of initializers that a graph declares (name, type, dims) without holding them, by
// initializer name: contiguous CPU tensors, copied only when the model is written
// (write_model_atomically), so that the weights of a large model are not duplicated in memory.
using DeferredInitializers = std::map<std::string, at::Tensor>;

// A copy of `tensor` (any device, any layout) as a little-endian raw_data TensorProto.
onnx::TensorProto to_tensor_proto(const at::Tensor& tensor, const std::string& name);

// The name, type and dims of `tensor` without its data.
onnx::TensorProto tensor_proto_without_data(const at::Tensor& tensor, const std::string& name);

// `tensor` as a contiguous CPU tensor whose bytes are its raw_data (no copy when it already is one).
at::Tensor raw_data_tensor(const at::Tensor& tensor);

// Declares `tensor` as an initializer of `graph` and keeps its data in `deferred`.
void add_deferred_initializer(onnx::GraphProto& graph, DeferredInitializers& deferred, const std::string& name,
                              const at::Tensor& tensor);

// A CPU tensor holding the proto's data, whether stored as raw_data or in the typed fields.
at::Tensor from_tensor_proto(const onnx::TensorProto& proto);

}  // namespace mltk::onnx_export
