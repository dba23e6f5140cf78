#pragma once
// One checkpoint through ml-export: load it, rebuild its model, export it to ONNX and/or validate
// the ONNX file against it, logging each step.
#include "mltk/benchmark/export_benchmark.h"
#include "mltk/cli/quantize_export.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/validate/export_validator.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mltk::checkpoint {
struct Checkpoint;
}

namespace mltk::cli {

// Settings shared by every checkpoint of one ml-export run.
struct ExportSettings {
  int64_t batch_size = 1;
  int opset = 14;
  bool dynamic_axes = false;
  bool validate = true;
  std::string runtime = "reference";
  int runtime_threads = 0;
  std::string validation_data;  // images, a folder or a split index; empty: random inputs only
  // "external": the graph takes normalised float [N, 3, H, W]; "embedded": uint8 [N, H, W, 3]
  // pixels, normalised inside the graph, with logits and probabilities as outputs.
  std::string preprocessing = "external";
  bool benchmark = false;       // time the file and the checkpoint's model after export and validation
  int benchmark_runs = benchmark::kDefaultRuns;  // timed runs per runtime and batch size
  QuantizeSettings quantize;
};

struct CheckpointJob {
  std::string checkpoint_path;
  std::string onnx_path;       // written by the export, read by the validation
  bool validate_only = false;  // validate an existing onnx_path instead of exporting
  // Single-checkpoint runs log every step at INFO; batch runs log the steps at DEBUG so that the
  // console shows one progress line per checkpoint (verdicts stay visible).
  bool detailed = true;
};

// <folder>/<stem>.onnx for <folder>/<stem>.pt.
std::string default_onnx_path(const std::string& checkpoint_path);

// The metadata_props stored in the ONNX file: class_names, mean and std (JSON lists), input_size,
// num_classes, architecture, model_type, producer ("mltk <version>") and opset.
std::map<std::string, std::string> onnx_metadata(const checkpoint::Checkpoint& checkpoint, int opset);

// Logs the export's counts, phase times and operator histograms at DEBUG (ml-export --verbose).
void log_export_report(const onnx_export::ExportReport& report);

// Logs the runtime, metrics, verdict with its reasons and the report's path (steps at DEBUG unless
// `detailed`; the verdict always shows).
void log_validation(const validate::ExportValidation& validation, bool detailed);

// Runs the job: export unless validate_only, validate unless turned off, then benchmark when asked
// (not after a FAIL). Returns the validation, or nothing when validation is off. Throws
// std::runtime_error naming the file at fault (checkpoint, output folder, ONNX file) and,
// for a failed export, carrying the exporter's message.
std::optional<validate::ExportValidation> run_checkpoint_job(const CheckpointJob& job, const ExportSettings& settings);

}  // namespace mltk::cli
