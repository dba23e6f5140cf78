#pragma once
// The frames exchanged with `node tools/ort/run_model.js --serve` (the format is described in that
// file's header and in docs/onnxruntime.md): a u32 little-endian header length, a JSON header, then
// the raw little-endian bytes of the tensors the header lists, back to back in its order.
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mltk::runtime::ort_frames {

// Headers larger than this are treated as a corrupt stream rather than allocated.
constexpr uint32_t kMaxHeaderBytes = 16u << 20;

// The frame's dtype name of a tensor type ("float32", "int64", "uint8", "int8", ...); throws
// std::runtime_error listing the supported types for any other.
const char* dtype_name(torch::ScalarType type);

// The length prefix and JSON text of a header.
std::string encode_header(const nlohmann::json& header);
// The header length from a frame's first four bytes; throws when it exceeds kMaxHeaderBytes.
uint32_t decode_header_length(const unsigned char prefix[4]);

// The "inputs" entry of a request header ("run" or "time") for these CPU, contiguous tensors.
nlohmann::json input_specs(const std::vector<torch::Tensor>& inputs);

// An uninitialised CPU tensor for one entry of a reply's "outputs" ({"name", "dtype", "dims"}),
// into which its payload bytes are read. Throws std::runtime_error naming the entry when its dtype
// or dims are invalid.
torch::Tensor allocate_tensor(const nlohmann::json& spec);

}  // namespace mltk::runtime::ort_frames
