#pragma once
// Reading ONNX files and converting between ONNX TensorProto and torch::Tensor.
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace mltk::runtime {

// The default-domain opsets the reference evaluator implements operator semantics for.
inline constexpr int64_t kMinSupportedOpset = 7;
inline constexpr int64_t kMaxSupportedOpset = 18;

// Parses and validates (onnx::checker) a model file. Throws std::runtime_error naming the file
// when it is missing, unreadable, truncated or not a valid ONNX model.
onnx::ModelProto load_onnx_model(const std::string& path);

// The opset imported for the default ("" / "ai.onnx") domain. Throws std::runtime_error when the
// model imports none or one outside [kMinSupportedOpset, kMaxSupportedOpset].
int64_t default_domain_opset(const onnx::ModelProto& model);

// Parses a serialized TensorProto file (the input_N.pb / output_N.pb of ONNX test data).
onnx::TensorProto load_tensor_proto(const std::string& path);

// Converts a TensorProto holding its data inline (raw_data or the typed fields) into a CPU
// tensor that owns its memory. External data and unsupported element types throw.
torch::Tensor tensor_from_proto(const onnx::TensorProto& proto);

// The same tensor, but one stored as raw_data takes that buffer over instead of copying it, leaving
// `proto` without raw_data: the reference evaluator holds half a gigabyte of VGG-16 weights once.
torch::Tensor take_tensor_from_proto(onnx::TensorProto& proto);

// Serializes a tensor as raw little-endian data.
onnx::TensorProto tensor_to_proto(const torch::Tensor& tensor, const std::string& name);

// ONNX TensorProto::DataType <-> ATen scalar type; throws for types ATen cannot represent.
torch::ScalarType scalar_type_from_onnx(int32_t onnx_type);
int32_t onnx_type_from_scalar_type(torch::ScalarType type);

}  // namespace mltk::runtime
