#include "mltk/validate/export_validator.h"

#include "mltk/common/atomic_file.h"
#include "mltk/models/eval_mode.h"
#include "mltk/runtime/graph_input.h"
#include "mltk/runtime/onnx_model_checks.h"
#include "mltk/runtime/runner_factory.h"
#include "mltk/validate/agreement_verdict.h"
#include "mltk/validate/pixel_inputs.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace mltk::validate {
namespace {

using FileInput = runtime::GraphImageInput;

void require_matching_shape(const std::string& onnx_path, const FileInput& file, std::vector<int64_t> expected) {
  if (file.takes_pixels) std::rotate(expected.begin(), expected.begin() + 1, expected.end());  // C, H, W -> H, W, C
  bool matches = file.sample_dims.size() == expected.size();
  for (size_t i = 0; matches && i < expected.size(); ++i)
    matches = !file.sample_dims[i] || *file.sample_dims[i] == expected[i];
  if (matches) return;
  std::vector<std::string> dims;
  for (const auto& dim : file.sample_dims) dims.push_back(dim ? std::to_string(*dim) : "?");
  throw std::runtime_error(fmt::format("{}: the ONNX input takes samples of shape [{}] but the checkpoint's model "
                                       "expects [{}]; was it exported from another checkpoint?",
                                       onnx_path, fmt::join(dims, ", "), fmt::join(expected, ", ")));
}

std::vector<int64_t> batch_sizes_for(const FileInput& file, int64_t requested) {
  if (file.fixed_batch) return {*file.fixed_batch};
  const int64_t other = requested == kDynamicCheckBatchSize ? kDynamicCheckBatchSize + 1 : kDynamicCheckBatchSize;
  return {requested, other};
}

// Random inputs say nothing about a quantized file's accuracy; they only have to run.
Verdict judge_quantized_random_batch(const Comparison& comparison) {
  if (!comparison.metrics) return judge(comparison);
  return {Status::Pass, {}, {"ran on random inputs (their values are not graded for a quantized file)"}};
}

void judge_quantized_images(ImageValidation& images) {
  std::optional<double> drop;
  if (images.labelled > 0) drop = 100.0 * static_cast<double>(images.model_correct - images.onnx_correct) / images.labelled;
  images.report.verdict = judge_agreement(images.agreement(), drop);
}

}  // namespace

std::string validation_report_path(const std::string& onnx_path) {
  std::filesystem::path path(onnx_path);
  return (path.parent_path() / (path.stem().string() + ".validation.json")).string();
}

ExportValidation validate_export(models::ClassifierImpl& model, const std::string& onnx_path,
                                 const ExportValidationOptions& options) {
  if (options.quantized && !options.images)
    throw std::runtime_error(onnx_path + ": a quantized file is validated on real images; none were given");
  // Read and checked once; the reference evaluator then runs this very model.
  onnx::ModelProto checked_model = runtime::load_checked_onnx_model(onnx_path);
  const FileInput file = runtime::image_input_of(checked_model, onnx_path);
  require_matching_shape(onnx_path, file, options.input_shape);
  auto runner =
      runtime::make_onnx_runner(options.runtime, std::move(checked_model), onnx_path, options.runtime_threads);

  ExportValidation validation;
  validation.onnx_path = onnx_path;
  validation.runtime = runner->name();
  validation.dynamic_batch = !file.fixed_batch.has_value();
  validation.quantized = options.quantized;
  validation.input_shape = options.input_shape;
  validation.takes_pixels = file.takes_pixels;

  const models::EvalModeScope eval_mode(model);
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(kValidationSeed);
  for (const int64_t batch_size : batch_sizes_for(file, options.batch_size)) {
    std::vector<int64_t> shape{batch_size};
    shape.insert(shape.end(), options.input_shape.begin(), options.input_shape.end());
    PairedInputs inputs;
    if (file.takes_pixels) {
      const std::vector<int64_t> pixel_shape{batch_size, shape[2], shape[3], shape[1]};
      inputs = paired_inputs(torch::randint(0, 256, pixel_shape, generator, torch::kUInt8), options.normalization, true);
    } else {
      inputs.model = inputs.onnx = torch::randn(shape, generator, torch::kFloat32);
    }
    const torch::Tensor expected = model.forward(inputs.model);
    const auto outputs = runner->run({inputs.onnx});
    if (outputs.empty()) throw std::runtime_error(onnx_path + ": the ONNX graph produced no output");
    Report report = evaluate(expected, outputs.front());
    if (options.quantized) report.verdict = judge_quantized_random_batch(report.comparison);
    validation.status = std::max(validation.status, report.verdict.status);
    validation.batches.push_back({batch_size, std::move(report), std::string()});
  }
  if (options.images) {
    validation.images = validate_on_images(model, *runner, *options.images, file.fixed_batch, options.normalization,
                                           file.takes_pixels);
    if (options.quantized) judge_quantized_images(*validation.images);
    validation.status = std::max(validation.status, validation.images->report.verdict.status);
  }

  validation.report_path = validation_report_path(onnx_path);
  write_file_atomically(validation.report_path, to_json(validation).dump(2) + "\n");
  return validation;
}

std::optional<Metrics> worst_metrics(const ExportValidation& validation) {
  std::vector<const Report*> reports;
  for (const auto& batch : validation.batches) reports.push_back(&batch.report);
  if (validation.images) reports.push_back(&validation.images->report);
  std::optional<Metrics> worst;
  for (const auto* report : reports) {
    const auto& metrics = report->comparison.metrics;
    if (!metrics) continue;
    if (!worst) {
      worst = metrics;
      continue;
    }
    worst->max_abs_diff = std::max(worst->max_abs_diff, metrics->max_abs_diff);
    worst->mse = std::max(worst->mse, metrics->mse);
    worst->mae = std::max(worst->mae, metrics->mae);
    worst->max_rel_diff = std::max(worst->max_rel_diff, metrics->max_rel_diff);
    worst->cosine_similarity = std::min(worst->cosine_similarity, metrics->cosine_similarity);
    if (worst->top1_agreement && metrics->top1_agreement)
      worst->top1_agreement = std::min(*worst->top1_agreement, *metrics->top1_agreement);
  }
  return worst;
}

nlohmann::json to_json(const ExportValidation& validation) {
  nlohmann::json batches = nlohmann::json::array();
  for (const auto& batch : validation.batches) {
    nlohmann::json entry = to_json(batch.report);
    entry["batch_size"] = batch.batch_size;
    if (!batch.output.empty()) entry["output"] = batch.output;
    batches.push_back(std::move(entry));
  }
  return {{"onnx_path", validation.onnx_path},
          {"runtime", validation.runtime},
          {"seed", kValidationSeed},
          {"dynamic_batch", validation.dynamic_batch},
          {"quantized", validation.quantized},
          {"input_shape", validation.input_shape},
          {"preprocessing", validation.takes_pixels ? "embedded" : "external"},
          {"status", to_string(validation.status)},
          {"batches", std::move(batches)},
          {"validation_data", validation.images ? to_json(*validation.images) : nlohmann::json()}};
}

}  // namespace mltk::validate
