#pragma once
// ml-export --quantize int8: the float export quantized in QDQ form with activations calibrated on
// real images, and what the validation of a quantized file needs (its real images, its metadata).
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mltk::checkpoint {
struct Checkpoint;
}

namespace mltk::cli {

struct QuantizeSettings {
  std::string mode;              // "" (float export), "int8" (static) or "dynamic"
  std::string calibration_data;  // images, a folder or a split index; empty: the fold's training index
  int64_t calibration_images = 256;
  std::string calibration_method = "percentile";  // measured: docs/quantization.md
  bool keep_first_conv_float = false;
};

// Metadata key holding the quantization (JSON): its presence marks a quantized file.
inline constexpr const char* kQuantizationMetadataKey = "quantization";
// Metadata key holding the validation verdict of a quantized export (JSON).
inline constexpr const char* kQuantizationVerdictMetadataKey = "quantization_verdict";

struct QuantizationSummary {
  std::string metadata_json;  // what kQuantizationMetadataKey holds
  int64_t float_bytes = 0;
  int64_t quantized_bytes = 0;
};

// Quantizes the float ONNX file `float_path` (exported with a symbolic batch dimension) into
// `output_path`, with `fixed_batch` as its batch dimension when given, and logs what it did and the
// sizes. int8 calibrates on the settings' images (or the checkpoint's training index) and throws
// std::runtime_error naming the flag to use when there are none; dynamic needs no images.
QuantizationSummary quantize_exported_file(const std::string& float_path, const std::string& output_path,
                                           std::optional<int64_t> fixed_batch, const checkpoint::Checkpoint& checkpoint,
                                           const std::string& checkpoint_path, const QuantizeSettings& settings,
                                           bool detailed);

// The kQuantizationMetadataKey entry of the ONNX file, absent for a float file.
std::optional<std::string> quantization_of(const std::string& onnx_path);

// The images a quantized file is validated on: `validation_data` when given, else the
// checkpoint's test index; throws naming --validation_data when neither exists.
std::string quantized_validation_data(const std::string& validation_data, const checkpoint::Checkpoint& checkpoint,
                                      const std::string& checkpoint_path);

}  // namespace mltk::cli
