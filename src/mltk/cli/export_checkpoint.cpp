#include "mltk/cli/export_checkpoint.h"

#include "mltk/benchmark/benchmark_report.h"
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/cli/app.h"
#include "mltk/cli/validation_data.h"
#include "mltk/common/logging.h"
#include "mltk/onnx_export/embedded_preprocessing.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/onnx_export/model_edits.h"
#include "mltk/pipeline/model_builder.h"
#include "mltk/report/run_page.h"
#include "mltk/report/validation_page.h"
#include "mltk/train/run_folder.h"

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace mltk::cli {
namespace {

namespace fs = std::filesystem;

// A step of the job: INFO in single-checkpoint runs, DEBUG in batch runs.
template <typename... Args>
void step(bool detailed, fmt::format_string<Args...> format, Args&&... args) {
  if (detailed) {
    log::info(format, std::forward<Args>(args)...);
  } else {
    log::debug(format, std::forward<Args>(args)...);
  }
}

// Checked before the (slow) export so that a typo in --output_path fails at once, by name. A file
// is really created: permission bits say nothing for root, nor for read-only or special mounts.
void require_writable_folder_for(const std::string& output_path) {
  const fs::path folder = fs::path(output_path).parent_path().empty() ? fs::path(".") : fs::path(output_path).parent_path();
  if (!fs::exists(folder))
    throw std::runtime_error("Output folder '" + folder.string() + "' does not exist (output path " + output_path + ")");
  if (!fs::is_directory(folder))
    throw std::runtime_error("Output folder '" + folder.string() + "' is not a folder (output path " + output_path + ")");
  std::string probe = (folder / ".mltk-write-probe-XXXXXX").string();
  const int fd = mkstemp(probe.data());
  if (fd < 0)
    throw std::runtime_error("Output folder '" + folder.string() + "' is not writable (output path " + output_path +
                             "): " + std::strerror(errno));
  close(fd);
  fs::remove(probe);
}

models::Classifier load_model(const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path,
                              bool detailed) {
  step(detailed, "Creating model: {} ({})", checkpoint.model.architecture, checkpoint.model.type);
  auto model = pipeline::create_model_with_weights(
      {checkpoint.model.architecture, checkpoint.model.num_classes, checkpoint.model.input_size, std::nullopt},
      checkpoint.model_state_dict, checkpoint_path);
  model->eval();
  step(detailed, "Model loaded successfully");
  return model;
}

// <folder>/.<stem>.float-<pid>.onnx: hidden, and unique per process so parallel exports do not collide.
std::string float_export_path(const std::string& onnx_path) {
  const fs::path path(onnx_path);
  return (path.parent_path() / ("." + path.stem().string() + ".float-" + std::to_string(getpid()) + ".onnx")).string();
}

// Deletes a temporary file however the scope is left.
class RemovedOnExit {
 public:
  explicit RemovedOnExit(std::string path) : path_(std::move(path)) {}
  RemovedOnExit(const RemovedOnExit&) = delete;
  RemovedOnExit& operator=(const RemovedOnExit&) = delete;
  ~RemovedOnExit() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove(path_, ignored);
  }

 private:
  std::string path_;
};

void log_histogram(const char* title, const std::map<std::string, int64_t>& counts) {
  log::debug("{}:", title);
  for (const auto& [op, count] : counts) log::debug("  {:<32} {}", op, count);
}

void export_model(models::ClassifierImpl& model, const checkpoint::Checkpoint& checkpoint, const CheckpointJob& job,
                  const ExportSettings& settings) {
  require_writable_folder_for(job.onnx_path);
  step(job.detailed, "Exporting to ONNX format...");
  onnx_export::ExportOptions options;
  options.opset = settings.opset;
  options.batch_size = settings.batch_size;
  // A quantized export calibrates on batches of images: its float file takes any batch size.
  const bool quantize = !settings.quantize.mode.empty();
  options.dynamic_batch = settings.dynamic_axes || quantize;
  options.input_shape = {3, checkpoint.model.input_size, checkpoint.model.input_size};
  options.metadata = onnx_metadata(checkpoint, settings.opset);
  // Calibration feeds normalised float batches, so a quantized file gets its preprocessing after.
  const bool embedded = settings.preprocessing == "embedded";
  if (embedded && !quantize) options.embedded_preprocessing = checkpoint.normalization;
  // A quantized export is a rewrite of the float export, which is written beside it first.
  const auto float_path = quantize ? float_export_path(job.onnx_path) : job.onnx_path;
  const RemovedOnExit float_file(quantize ? float_path : "");
  onnx_export::ExportReport report;
  try {
    report = onnx_export::export_to_onnx(model, float_path, options);
  } catch (const std::exception& e) {
    throw std::runtime_error("ONNX export of " + job.checkpoint_path + " failed: " + message_of(e));
  }
  log_export_report(report);
  if (quantize) {
    if (settings.quantize.mode == "dynamic")
      step(job.detailed, "Quantizing (dynamic: int8 weights, activations quantized at run time)...");
    else
      step(job.detailed, "Quantizing ({}, {} calibration)...", settings.quantize.mode, settings.quantize.calibration_method);
    const auto fixed_batch = settings.dynamic_axes ? std::nullopt : std::optional<int64_t>(settings.batch_size);
    quantize_exported_file(float_path, job.onnx_path, fixed_batch, checkpoint, job.checkpoint_path, settings.quantize,
                           job.detailed);
    if (embedded) onnx_export::embed_preprocessing_in_file(job.onnx_path, checkpoint.normalization);
  }
  if (job.detailed) log::success("✓ Model exported to: {}", job.onnx_path);
}

void log_reasons(const validate::ExportValidation& validation, void (*emit)(const std::string&)) {
  if (validation.quantized && validation.images) {
    for (const auto& reason : validation.images->report.verdict.reasons) emit("  " + reason);
  }
  for (const auto& batch : validation.batches) {
    if (batch.report.verdict.status == validate::Status::Pass) continue;
    std::string where;
    if (validation.batches.size() > 1) where = fmt::format("batch size {}", batch.batch_size);
    if (!batch.output.empty()) where += (where.empty() ? "" : ", ") + batch.output;
    for (const auto& reason : batch.report.verdict.reasons) emit(where.empty() ? "  " + reason : "  " + where + ": " + reason);
  }
}

}  // namespace

void log_export_report(const onnx_export::ExportReport& report) {
  log::debug("Export took {:.0f} ms: {} ONNX nodes, {} initializers, {} batch norms folded into convolutions",
             report.elapsed_ms, report.node_count, report.initializer_count, report.folded_batch_norms);
  for (const auto& phase : report.phases) log::debug("  {:<32} {:.0f} ms", phase.name, phase.ms);
  log_histogram("Traced aten operators", report.aten_ops);
  log_histogram("ONNX operators", report.onnx_ops);
}

void log_validation(const validate::ExportValidation& validation, bool detailed) {
  std::vector<int64_t> batch_sizes;
  for (const auto& batch : validation.batches)
    if (std::find(batch_sizes.begin(), batch_sizes.end(), batch.batch_size) == batch_sizes.end())
      batch_sizes.push_back(batch.batch_size);
  step(detailed, "Runtime: {}, batch size{} {}", validation.runtime, batch_sizes.size() > 1 ? "s" : "",
       fmt::join(batch_sizes, ", "));
  if (validation.quantized && validation.images && validation.images->report.comparison.metrics) {
    step(detailed, "Quantized file: judged by its answers on real images; random inputs only have to run");
    step(detailed, "  Logit cosine similarity on the images: {:.6f}",
         validation.images->report.comparison.metrics->cosine_similarity);
  } else if (const auto metrics = validate::worst_metrics(validation)) {
    step(detailed, "Validation metrics:");
    step(detailed, "  Max difference: {:.2e}", metrics->max_abs_diff);
    step(detailed, "  MSE: {:.2e}", metrics->mse);
    step(detailed, "  Cosine similarity: {:.6f}", metrics->cosine_similarity);
  }
  if (const auto& images = validation.images) {
    step(detailed, "Validation data: {} images from {}{}", images->images, images->source,
         images->skipped.empty() ? "" : fmt::format(" ({} could not be decoded and were skipped)", images->skipped.size()));
    step(detailed, "  Top-1 agreement: {:.2f}% ({}/{})", 100.0 * images->agreement(), images->agreeing, images->images);
    if (images->labelled > 0)
      step(detailed, "  Accuracy on {} labelled images: PyTorch {:.2f}%, ONNX {:.2f}%", images->labelled,
           100.0 * images->model_correct / images->labelled, 100.0 * images->onnx_correct / images->labelled);
  }
  switch (validation.status) {
    case validate::Status::Pass:
      log::success("✓ PASS - ONNX export validation successful");
      break;
    case validate::Status::Warn:
      log::warning("⚠ WARN - ONNX export has minor differences");
      log_reasons(validation, [](const std::string& line) { log::warning("{}", line); });
      break;
    case validate::Status::Fail:
      log::error("✗ FAIL - ONNX export validation failed");
      log_reasons(validation, [](const std::string& line) { log::error("{}", line); });
      break;
  }
  step(detailed, "Validation report: {}", validation.report_path);
}

namespace {

// The verdict joins the quantization's metadata, so the file says how far it can be trusted.
void record_quantized_verdict(const std::string& onnx_path, const validate::ExportValidation& validation) {
  const auto& images = *validation.images;
  const auto accuracy = [&](int64_t correct) {
    return images.labelled ? nlohmann::json(static_cast<double>(correct) / images.labelled) : nlohmann::json();
  };
  const nlohmann::json verdict = {
      {"status", validate::to_string(validation.status)},
      {"runtime", validation.runtime},
      {"images", images.images},
      {"top1_agreement", images.agreement()},
      {"float_accuracy", accuracy(images.model_correct)},
      {"quantized_accuracy", accuracy(images.onnx_correct)},
      {"logit_cosine_similarity",
       images.report.comparison.metrics ? nlohmann::json(images.report.comparison.metrics->cosine_similarity) : nlohmann::json()}};
  onnx_export::update_onnx_metadata(onnx_path, {{kQuantizationVerdictMetadataKey, verdict.dump()}});
}

// A checkpoint in a run folder (runs/<run>/weights/) gets the validation added to its run's page;
// any other gets <onnx stem>.validation.html beside the file. A page that cannot be written is only a
// warning: the JSON report holds the same facts.
void publish_validation_page(const validate::ExportValidation& validation, const std::string& checkpoint_path,
                             bool detailed) {
  const auto run = train::run_folder_of_checkpoint(checkpoint_path);
  const std::string run_page = run ? report::run_page_path(*run) : "";
  try {
    if (run && fs::is_regular_file(run_page)) {
      report::add_validation_to_run_page(run_page, validation);
      step(detailed, "Validation added to the run page: {}", run_page);
    } else {
      const std::string page = report::validation_page_path(validation.onnx_path);
      report::write_page(page, report::validation_page(validation));
      step(detailed, "Validation page: {}", page);
    }
  } catch (const std::exception& error) {
    log::warning("The validation page was not written: {}", error.what());
  }
}

validate::ExportValidation validate_file(models::ClassifierImpl& model, const checkpoint::Checkpoint& checkpoint,
                                         const CheckpointJob& job, const ExportSettings& settings) {
  step(job.detailed, "Validating ONNX export...");
  validate::ExportValidationOptions options;
  options.batch_size = settings.batch_size;
  options.input_shape = {3, checkpoint.model.input_size, checkpoint.model.input_size};
  options.runtime = settings.runtime;
  options.runtime_threads = settings.runtime_threads;
  options.normalization = checkpoint.normalization;
  const bool quantized = job.validate_only ? quantization_of(job.onnx_path).has_value() : !settings.quantize.mode.empty();
  if (job.validate_only && !settings.quantize.mode.empty() && !quantized)
    throw std::runtime_error("--quantize with --validate_only: " + job.onnx_path +
                             " is a float export (it has no quantization metadata); validate it without --quantize, "
                             "or export a quantized file first with --quantize " + settings.quantize.mode);
  std::string validation_data = settings.validation_data;
  if (quantized) validation_data = quantized_validation_data(validation_data, checkpoint, job.checkpoint_path);
  if (!validation_data.empty()) options.images = load_validation_data(validation_data, checkpoint, job.checkpoint_path);
  options.quantized = quantized;
  auto validation = validate::validate_export(model, job.onnx_path, options);
  log_validation(validation, job.detailed);
  publish_validation_page(validation, job.checkpoint_path, job.detailed);
  if (quantized && !job.validate_only) record_quantized_verdict(job.onnx_path, validation);
  return validation;
}

// The table goes to the console in batch runs too: it is what was asked for.
void benchmark_file(const checkpoint::Checkpoint& checkpoint, const CheckpointJob& job, const ExportSettings& settings) {
  log::info("Benchmarking {} ({} runs per runtime and batch size)...", job.onnx_path, settings.benchmark_runs);
  benchmark::BenchmarkOptions options;
  options.runs = settings.benchmark_runs;
  options.sample_shape = {3, checkpoint.model.input_size, checkpoint.model.input_size};
  options.batch_size = settings.batch_size;
  options.onnxruntime_threads = settings.runtime_threads;
  const auto load_eager_model = [&job] {
    return load_model(checkpoint::load_checkpoint(job.checkpoint_path), job.checkpoint_path, false);
  };
  const auto result = benchmark::benchmark_export(job.onnx_path, load_eager_model, options);
  for (const auto& line : benchmark::format_table(result)) log::info("{}", line);
  log::info("Benchmark report: {}", benchmark::write_benchmark_report(result));
}

}  // namespace

std::string default_onnx_path(const std::string& checkpoint_path) {
  return fs::path(checkpoint_path).replace_extension(".onnx").string();
}

std::map<std::string, std::string> onnx_metadata(const checkpoint::Checkpoint& checkpoint, int opset) {
  return {{"class_names", nlohmann::json(checkpoint.class_names).dump()},
          {"mean", nlohmann::json(checkpoint.normalization.mean).dump()},
          {"std", nlohmann::json(checkpoint.normalization.std).dump()},
          {"input_size", std::to_string(checkpoint.model.input_size)},
          {"num_classes", std::to_string(checkpoint.model.num_classes)},
          {"architecture", checkpoint.model.architecture},
          {"model_type", checkpoint.model.type},
          {"producer", std::string("mltk ") + MLTK_VERSION},
          {"opset", std::to_string(opset)}};
}

std::optional<validate::ExportValidation> run_checkpoint_job(const CheckpointJob& job, const ExportSettings& settings) {
  step(job.detailed, "Loading checkpoint from {}", job.checkpoint_path);
  const auto checkpoint = checkpoint::load_checkpoint(job.checkpoint_path);
  const auto model = load_model(checkpoint, job.checkpoint_path, job.detailed);

  if (!job.validate_only) export_model(*model, checkpoint, job, settings);
  std::optional<validate::ExportValidation> validation;
  if (job.validate_only || settings.validate) validation = validate_file(*model, checkpoint, job, settings);
  if (settings.benchmark) {
    if (validation && validation->status == validate::Status::Fail) {
      log::warning("Benchmark skipped: {} failed validation", job.onnx_path);
    } else {
      benchmark_file(checkpoint, job, settings);
    }
  }
  return validation;
}

}  // namespace mltk::cli
