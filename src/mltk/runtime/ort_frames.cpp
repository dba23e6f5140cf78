#include "mltk/runtime/ort_frames.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <utility>

namespace mltk::runtime::ort_frames {

namespace {

using nlohmann::json;

// The element types the bridge exchanges, each under the name onnxruntime-node's Tensor uses.
constexpr std::array<std::pair<torch::ScalarType, const char*>, 7> kDtypes{{
    {torch::kFloat32, "float32"},
    {torch::kFloat64, "float64"},
    {torch::kInt64, "int64"},
    {torch::kInt32, "int32"},
    {torch::kUInt8, "uint8"},
    {torch::kInt8, "int8"},
    {torch::kBool, "bool"},
}};

std::string supported_dtypes() {
  std::string names;
  for (const auto& [type, name] : kDtypes) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

// Payloads beyond this are a corrupt header, not a tensor worth allocating.
constexpr int64_t kMaxTensorBytes = int64_t{1} << 40;

}  // namespace

const char* dtype_name(torch::ScalarType type) {
  for (const auto& [candidate, name] : kDtypes) {
    if (candidate == type) return name;
  }
  throw std::runtime_error(fmt::format("the ONNX Runtime bridge exchanges {} tensors, not {}", supported_dtypes(),
                                       c10::toString(type)));
}

std::string encode_header(const json& header) {
  const std::string text = header.dump();
  const auto length = static_cast<uint32_t>(text.size());
  std::string frame(4, '\0');
  for (int byte = 0; byte < 4; ++byte) frame[byte] = static_cast<char>((length >> (8 * byte)) & 0xff);
  return frame + text;
}

uint32_t decode_header_length(const unsigned char prefix[4]) {
  const uint32_t length = prefix[0] | (prefix[1] << 8) | (prefix[2] << 16) | (uint32_t{prefix[3]} << 24);
  if (length > kMaxHeaderBytes) {
    throw std::runtime_error(fmt::format("the ONNX Runtime bridge announced a {}-byte header (at most {} expected); "
                                         "its output is corrupt",
                                         length, kMaxHeaderBytes));
  }
  return length;
}

json input_specs(const std::vector<torch::Tensor>& inputs) {
  json tensors = json::array();
  for (const auto& tensor : inputs) {
    tensors.push_back({{"dtype", dtype_name(tensor.scalar_type())}, {"dims", tensor.sizes().vec()}});
  }
  return tensors;
}

torch::Tensor allocate_tensor(const json& spec) {
  const std::string name = spec.value("name", "?");
  const std::string dtype = spec.at("dtype").get<std::string>();
  const auto dims = spec.at("dims").get<std::vector<int64_t>>();
  const auto type = std::find_if(kDtypes.begin(), kDtypes.end(), [&](const auto& entry) { return dtype == entry.second; });
  if (type == kDtypes.end()) {
    throw std::runtime_error(fmt::format("ONNX Runtime output '{}' has type {}; the bridge exchanges {}", name, dtype,
                                         supported_dtypes()));
  }
  int64_t bytes = static_cast<int64_t>(c10::elementSize(type->first));
  for (const int64_t dim : dims) {
    if (dim < 0 || (dim > 0 && bytes > kMaxTensorBytes / dim)) {
      throw std::runtime_error(fmt::format("ONNX Runtime output '{}' has invalid dims [{}]", name, fmt::join(dims, ", ")));
    }
    bytes *= dim;
  }
  return torch::empty(dims, torch::TensorOptions().dtype(type->first));
}

}  // namespace mltk::runtime::ort_frames
