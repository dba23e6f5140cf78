#include "mltk/onnx_export/tensor_proto.h"

#include <cstring>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

at::ScalarType torch_scalar_type(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::FLOAT: return at::kFloat;
    case onnx::TensorProto::DOUBLE: return at::kDouble;
    case onnx::TensorProto::FLOAT16: return at::kHalf;
    case onnx::TensorProto::INT64: return at::kLong;
    case onnx::TensorProto::INT32: return at::kInt;
    case onnx::TensorProto::INT8: return at::kChar;
    case onnx::TensorProto::UINT8: return at::kByte;
    case onnx::TensorProto::BOOL: return at::kBool;
  }
  throw std::invalid_argument("ONNX tensor data type " + std::to_string(data_type) + " is not supported");
}

}  // namespace

int32_t onnx_data_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return onnx::TensorProto::FLOAT;
    case at::kDouble: return onnx::TensorProto::DOUBLE;
    case at::kHalf: return onnx::TensorProto::FLOAT16;
    case at::kLong: return onnx::TensorProto::INT64;
    case at::kInt: return onnx::TensorProto::INT32;
    case at::kChar: return onnx::TensorProto::INT8;
    case at::kByte: return onnx::TensorProto::UINT8;
    case at::kBool: return onnx::TensorProto::BOOL;
    default: break;
  }
  throw std::invalid_argument(std::string("tensors of type ") + c10::toString(type) + " cannot be exported to ONNX");
}

at::Tensor raw_data_tensor(const at::Tensor& tensor) { return tensor.detach().to(at::kCPU).contiguous(); }

onnx::TensorProto tensor_proto_without_data(const at::Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(onnx_data_type(tensor.scalar_type()));
  for (const auto size : tensor.sizes()) proto.add_dims(size);
  return proto;
}

onnx::TensorProto to_tensor_proto(const at::Tensor& tensor, const std::string& name) {
  const auto data = raw_data_tensor(tensor);
  auto proto = tensor_proto_without_data(data, name);
  proto.set_raw_data(data.data_ptr(), data.nbytes());
  return proto;
}

void add_deferred_initializer(onnx::GraphProto& graph, DeferredInitializers& deferred, const std::string& name,
                              const at::Tensor& tensor) {
  *graph.add_initializer() = tensor_proto_without_data(tensor, name);
  deferred.insert_or_assign(name, raw_data_tensor(tensor));
}

at::Tensor from_tensor_proto(const onnx::TensorProto& proto) {
  const std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  const auto type = torch_scalar_type(proto.data_type());
  auto tensor = at::empty(dims, at::TensorOptions().dtype(type));
  const auto bytes = static_cast<size_t>(tensor.numel() * tensor.element_size());
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes)
      throw std::invalid_argument("tensor '" + proto.name() + "' holds " + std::to_string(proto.raw_data().size()) +
                                  " bytes, its shape needs " + std::to_string(bytes));
    std::memcpy(tensor.data_ptr(), proto.raw_data().data(), bytes);
  } else if (type == at::kFloat && proto.float_data_size() == tensor.numel()) {
    std::memcpy(tensor.data_ptr(), proto.float_data().data(), bytes);
  } else if (type == at::kLong && proto.int64_data_size() == tensor.numel()) {
    std::memcpy(tensor.data_ptr(), proto.int64_data().data(), bytes);
  } else {
    throw std::invalid_argument("tensor '" + proto.name() + "' stores its data in a form the exporter cannot read");
  }
  return tensor;
}

}  // namespace mltk::onnx_export
