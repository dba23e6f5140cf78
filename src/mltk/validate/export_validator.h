#pragma once
// Checks that an exported ONNX file computes what the LibTorch model computes: both run on the
// same seeded random batches, and optionally on real images, and their logits are compared with
// the metrics and verdict of verdict.h. The full report is also written as JSON beside the ONNX file.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/models/classifier.h"
#include "mltk/validate/image_validation.h"
#include "mltk/validate/verdict.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mltk::validate {

// Seed of the generator drawing the standard-normal validation inputs. Fixed so that two runs
// over the same files compare the same numbers; the batches are drawn one after the other from
// one generator in the order of ExportValidation::batches.
constexpr uint64_t kValidationSeed = 20240601;

// The second batch size tried when the file's batch dimension is symbolic; 3 rather than 2 so
// that it differs from common export batch sizes (1, 2, 4, 8) and is odd.
constexpr int64_t kDynamicCheckBatchSize = 3;

struct ExportValidationOptions {
  // Batch size used when the file's batch dimension is symbolic; a fixed dimension wins.
  int64_t batch_size = 1;
  std::vector<int64_t> input_shape{3, 224, 224};  // C, H, W expected by the model
  // How the model's inputs are normalised; used for real images, and for random pixels when the
  // file takes uint8 [N, H, W, C] pixels (embedded preprocessing, recognised by its input type).
  checkpoint::Normalization normalization;
  std::string runtime = "reference";              // see runtime::make_onnx_runner
  int runtime_threads = 0;
  std::optional<ValidationImages> images;         // real images to compare on as well
  // A quantized file is judged by agreement_verdict.h on `images` (required); its random batches
  // must still run and give finite logits of the right shape, but their values are not graded.
  bool quantized = false;
};

struct BatchValidation {
  int64_t batch_size = 0;
  Report report;
  std::string output;  // the graph output compared, when the graph has several
};

struct ExportValidation {
  std::string onnx_path;
  std::string runtime;  // the runner's own name, e.g. "onnxruntime 1.30.0"
  bool dynamic_batch = false;
  bool quantized = false;
  std::vector<int64_t> input_shape;
  bool takes_pixels = false;  // the file's input is uint8 pixels (embedded preprocessing)
  std::vector<BatchValidation> batches;
  std::optional<ImageValidation> images;  // present when real images were given
  Status status = Status::Pass;           // the worst status over `batches` and `images`
  std::string report_path;       // where the JSON report was written
};

// Runs `model` (in eval mode, without gradients) and the ONNX file on the same inputs (standard
// normal tensors, or for a file taking pixels, uniform random pixels normalised for the model) at the
// file's batch size, plus kDynamicCheckBatchSize when the batch dimension is symbolic, and on
// `options.images` when given (required when `options.quantized`), then writes the JSON report to validation_report_path(onnx_path). Throws std::runtime_error naming
// the file when it cannot be loaded or its input shape does not match `options.input_shape`.
ExportValidation validate_export(models::ClassifierImpl& model, const std::string& onnx_path,
                                 const ExportValidationOptions& options);

// <folder>/<stem>.validation.json for <folder>/<stem>.onnx.
std::string validation_report_path(const std::string& onnx_path);

// The worst value of each headline metric over all batches and the real images (largest max abs
// diff and MSE, smallest cosine); absent when nothing could be compared.
std::optional<Metrics> worst_metrics(const ExportValidation& validation);

// {"onnx_path", "runtime", "seed", "dynamic_batch", "quantized", "input_shape", "preprocessing" ("embedded"
//  or "external"), "status",
//  "batches": [{"batch_size", ...verdict.h's to_json(Report)}],
//  "validation_data": image_validation.h's to_json(ImageValidation) or null}
nlohmann::json to_json(const ExportValidation& validation);

}  // namespace mltk::validate
