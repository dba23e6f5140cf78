#include "mltk/cli/quantize_export.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/cli/validation_data.h"
#include "mltk/common/logging.h"
#include "mltk/onnx_export/dynamic_quantization.h"
#include "mltk/onnx_export/model_edits.h"
#include "mltk/onnx_export/static_quantization.h"
#include "mltk/runtime/onnx_model_checks.h"
#include "mltk/validate/pixel_inputs.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <stdexcept>

namespace mltk::cli {
namespace {

std::string calibration_source(const QuantizeSettings& settings, const checkpoint::Checkpoint& checkpoint,
                               const std::string& checkpoint_path) {
  if (!settings.calibration_data.empty()) return settings.calibration_data;
  if (auto index = training_index_of(checkpoint, checkpoint_path)) return *index;
  throw std::runtime_error("--quantize " + settings.mode + " calibrates on real images, and " + checkpoint_path +
                           " names no training index that exists; give some with --calibration_data PATH (an image, "
                           "a folder of images or a split index file)");
}

// Records the quantization in the file's metadata, which needs what the rewrite counted, and
// reports the size of the finished file against the float one.
QuantizationSummary finish_quantized_file(const std::string& output_path, const nlohmann::json& metadata,
                                          int64_t float_bytes, bool detailed) {
  onnx_export::update_onnx_metadata(output_path, {{kQuantizationMetadataKey, metadata.dump()}});
  const auto quantized_bytes = static_cast<int64_t>(std::filesystem::file_size(output_path));
  if (detailed)
    log::info("Size: {:.2f} MB quantized, {:.2f} MB float ({:.2f}x)", quantized_bytes / 1e6, float_bytes / 1e6,
              static_cast<double>(quantized_bytes) / float_bytes);
  return {metadata.dump(), float_bytes, quantized_bytes};
}

QuantizationSummary quantize_dynamically(const std::string& float_path, const std::string& output_path,
                                         std::optional<int64_t> fixed_batch, bool detailed) {
  onnx_export::DynamicQuantizationOptions options;
  options.fixed_batch = fixed_batch;
  const auto report = onnx_export::quantize_dynamic(float_path, output_path, options);
  const nlohmann::json metadata = {{"format", "dynamic"},
                                   {"weights", "int8, symmetric, per output column"},
                                   {"activations", "uint8, per tensor, quantized at run time"},
                                   {"quantized_nodes", report.quantized_nodes}};
  if (detailed)
    log::info("Quantized the weights of {} matrix products to int8; their inputs are quantized at run time",
              report.quantized_nodes);
  return finish_quantized_file(output_path, metadata, report.float_bytes, detailed);
}

}  // namespace

QuantizationSummary quantize_exported_file(const std::string& float_path, const std::string& output_path,
                                           std::optional<int64_t> fixed_batch, const checkpoint::Checkpoint& checkpoint,
                                           const std::string& checkpoint_path, const QuantizeSettings& settings,
                                           bool detailed) {
  if (settings.mode == "dynamic") return quantize_dynamically(float_path, output_path, fixed_batch, detailed);
  const auto source = calibration_source(settings, checkpoint, checkpoint_path);
  const auto images = load_image_data("--calibration_data", source, checkpoint, checkpoint_path, settings.calibration_images);
  int64_t image_count = 0;  // of the last pass; every pass sees the same images
  const onnx_export::CalibrationBatches batches = [&](const std::function<void(const at::Tensor&)>& each) {
    image_count = 0;
    images.loader->start_epoch(0);
    while (auto batch = images.loader->next()) {
      image_count += batch->images.size(0);
      // The loader gives resized and cropped pixel values; the float model takes them normalised,
      // rounded to bytes first exactly as validation feeds them.
      each(validate::normalise_pixels(validate::pixels_of_batch(batch->images), checkpoint.normalization));
    }
  };

  onnx_export::StaticQuantizationOptions options;
  options.method = onnx_export::parse_calibration_method(settings.calibration_method);
  options.qdq.keep_first_conv_float = settings.keep_first_conv_float;
  options.fixed_batch = fixed_batch;
  onnx_export::StaticQuantizationReport report;
  try {
    report = onnx_export::quantize_static(float_path, output_path, batches, options);
  } catch (const std::runtime_error& e) {
    if (image_count > 0) throw;
    throw std::runtime_error("--calibration_data " + source + ": none of its images could be decoded (" + e.what() + ")");
  }

  const std::set<std::string> skipped = [&] {
    const auto files = images.loader->skipped_files();
    return std::set<std::string>(files.begin(), files.end());
  }();
  if (!skipped.empty()) {
    log::warning("{} calibration image{} could not be decoded and {} skipped:", skipped.size(),
                 skipped.size() == 1 ? "" : "s", skipped.size() == 1 ? "was" : "were");
    for (const auto& file : skipped) log::warning("  {}", file);
  }
  const nlohmann::json metadata = {{"format", "QDQ"},
                                   {"weights", "int8, symmetric, per output channel"},
                                   {"activations", "uint8, per tensor"},
                                   {"calibration_method", settings.calibration_method},
                                   {"calibration_images", image_count},
                                   {"calibration_data", source},
                                   {"first_conv_float", settings.keep_first_conv_float},
                                   {"quantized_nodes", report.summary.quantized_nodes},
                                   {"activations_folded", report.summary.folded_activations}};
  if (detailed) {
    log::info("Calibrated on {} images from {} ({})", image_count, source, settings.calibration_method);
    log::info("Quantized {} operators to int8 ({} ReLU and ReLU6 activations folded into their quantization)",
              report.summary.quantized_nodes, report.summary.folded_activations);
  }
  return finish_quantized_file(output_path, metadata, report.float_bytes, detailed);
}

std::optional<std::string> quantization_of(const std::string& onnx_path) {
  const auto model = runtime::load_checked_onnx_model(onnx_path);
  for (const auto& entry : model.metadata_props())
    if (entry.key() == kQuantizationMetadataKey) return entry.value();
  return std::nullopt;
}

std::string quantized_validation_data(const std::string& validation_data, const checkpoint::Checkpoint& checkpoint,
                                      const std::string& checkpoint_path) {
  if (!validation_data.empty()) return validation_data;
  if (auto index = test_index_of(checkpoint, checkpoint_path)) return *index;
  throw std::runtime_error("a quantized file is judged on real images, and " + checkpoint_path +
                           " names no test index that exists; give some with --validation_data PATH (an image, a "
                           "folder of images or a split index file such as data/NAME/splits/test.txt)");
}

}  // namespace mltk::cli
