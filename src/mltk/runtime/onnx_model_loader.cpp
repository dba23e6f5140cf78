#include "mltk/runtime/onnx_model_loader.h"

#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>

namespace mltk::runtime {
namespace {

// A whole file in one buffer of its exact size: streamed into a growing string, a half-gigabyte
// model is copied three times over into freshly allocated memory.
struct FileBytes {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

FileBytes read_file(const std::string& path, const char* what) {
  std::ifstream stream(path, std::ios::binary | std::ios::ate);
  if (!stream) throw std::runtime_error("cannot open " + std::string(what) + " '" + path + "'");
  const std::streamoff size = stream.tellg();
  if (size < 0 || !stream.seekg(0)) throw std::runtime_error("error reading " + std::string(what) + " '" + path + "'");
  // Protobuf parses at most 2 GiB; larger files keep their weights as external data.
  if (size > std::numeric_limits<int>::max())
    throw std::runtime_error(std::string(what) + " '" + path + "' has " + std::to_string(size) +
                             " bytes, more than the 2 GiB a protobuf file can hold");
  FileBytes bytes{std::unique_ptr<char[]>(new char[static_cast<size_t>(size)]), static_cast<size_t>(size)};
  if (!stream.read(bytes.data.get(), size) || stream.gcount() != size)
    throw std::runtime_error("error reading " + std::string(what) + " '" + path + "'");
  return bytes;
}

bool parse_file(const std::string& path, const char* what, google::protobuf::MessageLite& message, size_t& size) {
  const FileBytes bytes = read_file(path, what);
  size = bytes.size;
  return message.ParseFromArray(bytes.data.get(), static_cast<int>(bytes.size));
}

// The bytes of a tensor of `dims`, each element `element_bytes` long. Throws naming the tensor for a
// negative dimension, or for a size that wraps around: a wrapped size matching a short buffer would let
// a tensor laid over it reach past it.
size_t checked_byte_count(const std::vector<int64_t>& dims, size_t element_bytes, const std::string& label) {
  size_t bytes = element_bytes;
  for (int64_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(bytes, static_cast<size_t>(d), &bytes))
      throw std::runtime_error("tensor '" + label + "' has dimensions " + c10::str(dims) + ", which no buffer can hold");
  }
  return bytes;
}

// Element type, dimensions and byte size that a TensorProto's raw_data must have.
struct RawLayout {
  torch::ScalarType type;
  std::vector<int64_t> dims;
  size_t bytes = 0;
};

RawLayout raw_layout(const onnx::TensorProto& proto, const std::string& label) {
  RawLayout layout{scalar_type_from_onnx(proto.data_type()), {proto.dims().begin(), proto.dims().end()}};
  layout.bytes = checked_byte_count(layout.dims, c10::elementSize(layout.type), label);
  if (proto.raw_data().size() != layout.bytes) {
    throw std::runtime_error("tensor '" + label + "' has " + std::to_string(proto.raw_data().size()) +
                             " bytes of raw_data, expected " + std::to_string(layout.bytes));
  }
  return layout;
}

std::string tensor_label(const onnx::TensorProto& proto) { return proto.name().empty() ? "<unnamed>" : proto.name(); }

// Copies `count` elements of a repeated proto field into a tensor of the field's C++ type, then
// reinterprets/casts to the target type. ONNX stores narrow types (int8, float16, bool, ...)
// widened into int32_data, so the copy goes through the field type first.
template <typename Field>
torch::Tensor tensor_from_field(const Field& field, torch::ScalarType field_type, torch::ScalarType target,
                                const std::vector<int64_t>& dims) {
  auto values = torch::empty({field.size()}, torch::TensorOptions().dtype(field_type));
  std::memcpy(values.data_ptr(), field.data(), field.size() * values.element_size());
  if (target == torch::kHalf || target == torch::kBFloat16) {
    // The int32 slots hold the 16-bit patterns, not numeric values.
    return values.to(torch::kShort).view(target).reshape(dims);
  }
  return values.to(target).reshape(dims);
}

}  // namespace

onnx::ModelProto load_onnx_model(const std::string& path) {
  onnx::ModelProto model;
  size_t size = 0;
  if (!parse_file(path, "ONNX model", model, size)) {
    throw std::runtime_error("ONNX model '" + path + "' is truncated or not an ONNX protobuf (" +
                             std::to_string(size) + " bytes could not be parsed)");
  }
  // Arbitrary bytes occasionally parse as a protobuf with unknown fields; a real model always
  // has an IR version, an opset import and a graph.
  if (model.ir_version() <= 0 || model.opset_import_size() == 0 || !model.has_graph()) {
    throw std::runtime_error("ONNX model '" + path +
                             "' is not a valid ONNX model (missing ir_version, opset_import or graph)");
  }
  return model;
}

int64_t default_domain_opset(const onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      const int64_t version = opset.version();
      if (version < kMinSupportedOpset || version > kMaxSupportedOpset) {
        throw std::runtime_error("ONNX model uses default-domain opset " + std::to_string(version) +
                                 "; the reference evaluator supports opsets " +
                                 std::to_string(kMinSupportedOpset) + ".." +
                                 std::to_string(kMaxSupportedOpset));
      }
      return version;
    }
  }
  throw std::runtime_error("ONNX model imports no default-domain (ai.onnx) opset");
}

onnx::TensorProto load_tensor_proto(const std::string& path) {
  onnx::TensorProto proto;
  size_t size = 0;
  if (!parse_file(path, "TensorProto file", proto, size)) {
    throw std::runtime_error("TensorProto file '" + path + "' is truncated or not a TensorProto");
  }
  return proto;
}

torch::ScalarType scalar_type_from_onnx(int32_t onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT: return torch::kFloat;
    case onnx::TensorProto::DOUBLE: return torch::kDouble;
    case onnx::TensorProto::FLOAT16: return torch::kHalf;
    case onnx::TensorProto::BFLOAT16: return torch::kBFloat16;
    case onnx::TensorProto::INT64: return torch::kLong;
    case onnx::TensorProto::INT32: return torch::kInt;
    case onnx::TensorProto::INT16: return torch::kShort;
    case onnx::TensorProto::INT8: return torch::kChar;
    case onnx::TensorProto::UINT8: return torch::kByte;
    case onnx::TensorProto::BOOL: return torch::kBool;
    default: {
      const auto& name = onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(onnx_type));
      throw std::runtime_error("ONNX element type " + (name.empty() ? std::to_string(onnx_type) : name) +
                               " has no LibTorch equivalent");
    }
  }
}

int32_t onnx_type_from_scalar_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return onnx::TensorProto::FLOAT;
    case torch::kDouble: return onnx::TensorProto::DOUBLE;
    case torch::kHalf: return onnx::TensorProto::FLOAT16;
    case torch::kBFloat16: return onnx::TensorProto::BFLOAT16;
    case torch::kLong: return onnx::TensorProto::INT64;
    case torch::kInt: return onnx::TensorProto::INT32;
    case torch::kShort: return onnx::TensorProto::INT16;
    case torch::kChar: return onnx::TensorProto::INT8;
    case torch::kByte: return onnx::TensorProto::UINT8;
    case torch::kBool: return onnx::TensorProto::BOOL;
    default: throw std::runtime_error(std::string("tensor type ") + c10::toString(type) + " has no ONNX equivalent");
  }
}

torch::Tensor tensor_from_proto(const onnx::TensorProto& proto) {
  const std::string label = tensor_label(proto);
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    throw std::runtime_error("tensor '" + label + "' uses external data, which is not supported");
  }
  if (proto.has_raw_data()) {
    const RawLayout layout = raw_layout(proto, label);
    auto tensor = torch::empty(layout.dims, torch::TensorOptions().dtype(layout.type));
    std::memcpy(tensor.data_ptr(), proto.raw_data().data(), layout.bytes);
    return tensor;
  }
  const torch::ScalarType type = scalar_type_from_onnx(proto.data_type());
  const std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  const size_t count = checked_byte_count(dims, 1, label);
  size_t stored = 0;
  switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT: stored = proto.float_data_size(); break;
    case onnx::TensorProto::DOUBLE: stored = proto.double_data_size(); break;
    case onnx::TensorProto::INT64: stored = proto.int64_data_size(); break;
    default: stored = proto.int32_data_size(); break;
  }
  if (stored != count) {
    throw std::runtime_error("tensor '" + label + "' holds " + std::to_string(stored) + " values for shape of " +
                             std::to_string(count) + " elements");
  }
  switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT: return tensor_from_field(proto.float_data(), torch::kFloat, type, dims);
    case onnx::TensorProto::DOUBLE: return tensor_from_field(proto.double_data(), torch::kDouble, type, dims);
    case onnx::TensorProto::INT64: return tensor_from_field(proto.int64_data(), torch::kLong, type, dims);
    default: return tensor_from_field(proto.int32_data(), torch::kInt, type, dims);
  }
}

torch::Tensor take_tensor_from_proto(onnx::TensorProto& proto) {
  if (!proto.has_raw_data() || proto.data_location() == onnx::TensorProto::EXTERNAL) return tensor_from_proto(proto);
  const RawLayout layout = raw_layout(proto, tensor_label(proto));
  std::unique_ptr<std::string> raw(proto.release_raw_data());
  auto tensor = torch::from_blob(
      raw->data(), layout.dims, [owned = raw.get()](void*) { delete owned; }, torch::TensorOptions().dtype(layout.type));
  raw.release();  // now the tensor's to free
  return tensor;
}

onnx::TensorProto tensor_to_proto(const torch::Tensor& tensor, const std::string& name) {
  const auto contiguous = tensor.cpu().contiguous();
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(onnx_type_from_scalar_type(contiguous.scalar_type()));
  for (int64_t d : contiguous.sizes()) proto.add_dims(d);
  proto.set_raw_data(contiguous.data_ptr(), contiguous.numel() * contiguous.element_size());
  return proto;
}

}  // namespace mltk::runtime
