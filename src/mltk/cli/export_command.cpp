#include "mltk/cli/export_command.h"

#include "mltk/benchmark/export_benchmark.h"
#include "mltk/cli/app.h"
#include "mltk/cli/deployment.h"
#include "mltk/common/glob.h"
#include "mltk/common/logging.h"
#include "mltk/onnx_export/converters.h"
#include "mltk/report/run_comparison.h"
#include "mltk/runtime/runner_factory.h"
#include "mltk/train/run_folder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <vector>

namespace mltk::cli {
namespace {

namespace fs = std::filesystem;

bool succeeded(const std::optional<validate::ExportValidation>& validation) {
  return !validation || validation->status != validate::Status::Fail;
}

// Errors of checkpoint readers usually start with the path; the others get it prepended, so each
// failure line of a batch says which checkpoint it belongs to.
std::string naming(const std::string& path, const std::string& message) {
  return message.rfind(path, 0) == 0 ? message : path + ": " + message;
}

// glob(3) returns its matches sorted, so the export order is stable.
std::vector<std::string> expand_pattern(const std::string& pattern) {
  const auto paths = expand_glob(pattern, "--pattern");
  if (paths.empty()) throw std::runtime_error("No checkpoints match --pattern \"" + pattern + "\"");
  return paths;
}

// The best validation accuracy of each checkpoint's run (the folder holding its weights/ folder, read
// from its metrics.json), so that a batch over the folds of a cross-validation shows which is best.
void log_best_val_accuracies(const std::vector<std::string>& checkpoint_paths) {
  std::vector<report::RunSummary> runs;
  std::set<std::string> seen;
  for (const auto& path : checkpoint_paths) {
    const auto folder = train::run_folder_of_checkpoint(path);
    if (!folder || !seen.insert(folder->root).second) continue;
    auto run = report::summarise_run(folder->root);
    if (run.best_epoch) runs.push_back(std::move(run));
  }
  if (runs.empty()) return;
  // As ml-report chooses: among the finished runs when there are any.
  const bool any_counted = std::any_of(runs.begin(), runs.end(), [](const auto& run) { return run.counted(); });
  auto best = runs.end();
  for (auto run = runs.begin(); run != runs.end(); ++run)
    if ((run->counted() || !any_counted) && (best == runs.end() || run->best_val_accuracy > best->best_val_accuracy))
      best = run;
  size_t width = 0;
  for (const auto& run : runs) width = std::max(width, run.name.size());
  log::info("Best validation accuracy of each run (from its metrics.json):");
  for (auto run = runs.begin(); run != runs.end(); ++run)
    log::info("  {:<{}}  {:.4f} at epoch {}{}{}", run->name, width, run->best_val_accuracy, *run->best_epoch,
              run->counted() ? "" : " (" + run->state + ")", run == best ? "  <- highest" : "");
}

int run_single(const ExportFlags& flags) {
  if (!flags.deploy_dir.empty())
    return succeeded(deploy_checkpoint({flags.checkpoint_path, flags.deploy_dir, flags.overwrite}, flags.settings)) ? 0 : 1;
  CheckpointJob job;
  job.checkpoint_path = flags.checkpoint_path;
  job.validate_only = flags.validate_only;
  const std::string& chosen = flags.validate_only ? flags.onnx_path : flags.output_path;
  job.onnx_path = chosen.empty() ? default_onnx_path(flags.checkpoint_path) : chosen;
  return succeeded(run_checkpoint_job(job, flags.settings)) ? 0 : 1;
}

// Every checkpoint is attempted; a failure is logged and counted, and the exit code reports it.
int run_batch(const ExportFlags& flags) {
  const auto paths = expand_pattern(flags.pattern);
  const size_t total = paths.size();
  log::info("Found {} checkpoint{} matching pattern", total, total == 1 ? "" : "s");
  const char* verb = flags.validate_only ? "Validating" : "Exporting";
  const bool deploying = !flags.deploy_dir.empty();
  const auto names = deployment_names(paths);
  if (deploying) fs::create_directories(flags.deploy_dir);
  size_t done = 0;
  for (size_t i = 0; i < total; ++i) {
    log::info("{} checkpoint {}/{}: {}", verb, i + 1, total, paths[i]);
    CheckpointJob job{paths[i], default_onnx_path(paths[i]), flags.validate_only, false};
    const fs::path deployment = fs::path(flags.deploy_dir) / names[i];
    try {
      if (!succeeded(deploying ? deploy_checkpoint({paths[i], deployment, flags.overwrite, false}, flags.settings)
                               : run_checkpoint_job(job, flags.settings)))
        continue;
      ++done;
      if (deploying) log::success("✓ Deployed to {}", deployment.string());
      else log::success("✓ {} {}", flags.validate_only ? "Validated" : "Exported to", job.onnx_path);
    } catch (const std::exception& e) {
      log::error("✗ {}", naming(paths[i], message_of(e)));
    }
  }
  log_best_val_accuracies(paths);
  const char* what = flags.validate_only ? "validated" : "exported";
  if (done == total) {
    log::success("✓ Successfully {} {}/{} models", what, done, total);
    return 0;
  }
  log::error("✗ Successfully {} {}/{} models; {} failed", what, done, total, total - done);
  return 1;
}

// Returns --quantize, which other options exclude.
CLI::Option* add_quantize_options(CLI::App& app, QuantizeSettings& settings) {
  auto* quantize = app.add_option("--quantize", settings.mode,
                                  "int8: static quantization (QDQ: int8 per-channel weights, uint8 activations "
                                  "calibrated on real images), for convolutional networks. dynamic: int8 weights of "
                                  "the matrix products, activations quantized at run time, no calibration, for "
                                  "transformers such as the ViTs. Either is validated by top-1 agreement with the "
                                  "float model on real images; with --validate_only, check that the file is "
                                  "quantized (see docs/quantization.md)")
                       ->check(CLI::IsMember({"int8", "dynamic"}));
  const std::vector<CLI::Option*> calibration{
      app.add_option("--calibration_data", settings.calibration_data,
                     "Images the activations are calibrated on (int8): an image, a folder or a split index file "
                     "(default: the training index of the checkpoint's fold)")
          ->check(CLI::ExistingPath)
          ->needs(quantize),
      app.add_option("--calibration_images", settings.calibration_images,
                     "Calibrate on at most this many images, a seeded random choice (int8; default: 256)")
          ->check(CLI::PositiveNumber)
          ->needs(quantize),
      app.add_option("--calibration_method", settings.calibration_method,
                     "minmax (the full range seen) or percentile (the 0.01% most extreme values clipped) (int8; "
                     "default: percentile)")
          ->check(CLI::IsMember({"minmax", "percentile"}))
          ->needs(quantize),
      app.add_flag("--keep_first_conv_float", settings.keep_first_conv_float,
                   "Leave the convolution that reads the image in float (int8)")
          ->needs(quantize)};
  // Dynamic quantization has no calibration: a calibration option with it is a mistake to name.
  app.parse_complete_callback([calibration, &settings] {
    if (settings.mode != "dynamic") return;
    for (const auto* option : calibration)
      if (option->count() > 0)
        throw CLI::ValidationError(option->get_name(), "applies to --quantize int8 only; --quantize dynamic "
                                                       "quantizes activations at run time and needs no calibration");
  });
  return quantize;
}

}  // namespace

void add_export_options(CLI::App& app, ExportFlags& flags) {
  auto* source = app.add_option_group("source", "What to export (exactly one)");
  source->add_option("--checkpoint_path", flags.checkpoint_path, "Checkpoint (.pt) to export");
  auto* pattern = source->add_option("--pattern", flags.pattern,
                                     "Glob matching several checkpoints (quote it); each is exported beside itself");
  auto* torchscript = source->add_option(
      "--torchscript", flags.torchscript_path,
      "TorchScript file (torch.jit.save of a traced or scripted module, or torch::jit::Module::save) to export; "
      "needs --input_shape. Validated against the module itself on random inputs (see docs/ml-export.md)");
  source->add_flag("--list_operators", flags.list_operators,
                   "Print the aten operators the exporter converts at --opset_version, one per line with the ONNX "
                   "operators each may become, and exit");
  source->require_option(1);
  auto* input_shape = app.add_option("--input_shape", flags.input_shapes,
                                     "With --torchscript: the shape of one forward argument, batch first, e.g. "
                                     "1,3,224,224; repeat it for each argument, in order")
                          ->needs(torchscript)
                          ->take_all()
                          ->allow_extra_args(false);
  torchscript->needs(input_shape);

  auto* output_path =
      app.add_option("--output_path", flags.output_path, "ONNX file to write (default: the checkpoint's or TorchScript file's path with .onnx)")
          ->excludes(pattern);
  app.add_option("--batch_size", flags.settings.batch_size,
                 "Batch size of the exported input (default: 1; with --torchscript, dimension 0 of --input_shape)")
      ->check(CLI::PositiveNumber)
      ->excludes(torchscript);
  app.add_option("--opset_version", flags.settings.opset, "ONNX opset (default: 14)")
      ->check(CLI::Range(onnx_export::kMinOpset, onnx_export::kMaxOpset));
  auto* validate = app.add_flag("--validate,!--no-validate", flags.settings.validate,
                                "Compare the ONNX file with the LibTorch model after export (default: on)");
  auto* validate_only = app.add_flag("--validate_only", flags.validate_only,
                                     "Validate an existing ONNX file instead of exporting")
                            ->excludes(validate);
  app.add_option("--onnx_path", flags.onnx_path,
                 "ONNX file checked by --validate_only (default: the checkpoint's path with .onnx)")
      ->needs(validate_only)
      ->excludes(pattern);
  app.add_flag("--dynamic_axes", flags.settings.dynamic_axes,
               "Make the batch dimension symbolic; validation then also runs at a second batch size");
  auto* validation_data = app.add_option("--validation_data", flags.settings.validation_data,
                 "Also validate on real images: an image, a folder of images (class folders give labels) or a "
                 "split index file such as data/NAME/splits/test.txt; reports top-1 agreement and accuracy")
      ->check(CLI::ExistingPath);
  auto* preprocessing = app.add_option("--preprocessing", flags.settings.preprocessing,
                 "external (default): the graph takes normalised float [N, 3, H, W]; embedded: it takes uint8 RGB "
                 "pixels [N, H, W, 3], already resized and centre-cropped, normalises them itself and outputs "
                 "'logits' and 'probabilities'")
      ->check(CLI::IsMember({"external", "embedded"}));
  app.add_option("--runtime", flags.settings.runtime, "ONNX runtime used for validation (default: reference)")
      ->check(CLI::IsMember(runtime::onnx_runner_names()));
  auto* deploy_dir = app.add_option(
      "--deploy_dir", flags.deploy_dir,
      "Write a deployment folder: model.onnx (embedded preprocessing, symbolic batch), model.json, README.md "
      "(model card), web/ (static web app with ONNX Runtime Web) and node/ (classify.mjs); with --pattern, one "
      "sub-folder per checkpoint, named after its run (see docs/deployment.md)");
  deploy_dir->excludes(validate_only)->excludes(output_path)->excludes(preprocessing);
  app.add_flag("--overwrite", flags.overwrite, "Replace an existing, non-empty --deploy_dir")->needs(deploy_dir);
  auto* benchmark_flag = app.add_flag(
      "--benchmark", flags.settings.benchmark,
      "After exporting and validating, time the file in ONNX Runtime and the reference evaluator and the checkpoint "
      "in LibTorch eager, at batch size 1 and --batch_size: load time, median and p90 latency, images/s, peak "
      "memory; prints a table and writes <stem>.benchmark.json beside the ONNX file. With --validate_only it times "
      "the file validated");
  app.add_option("--benchmark_runs", flags.settings.benchmark_runs,
                 fmt::format("Timed runs per runtime and batch size, after {} warm-up runs (default: {})",
                             benchmark::kWarmupRuns, benchmark::kDefaultRuns))
      ->check(CLI::Range(1, 1000000))
      ->needs(benchmark_flag);
  auto* quantize = add_quantize_options(app, flags.settings.quantize);
  // A TorchScript module has no classes, normalisation or training data: what needs them does not apply.
  for (auto* checkpoint_only : {validate_only, validation_data, preprocessing, deploy_dir, benchmark_flag, quantize})
    torchscript->excludes(checkpoint_only);
}

int run_export_command(const ExportFlags& flags) {
  if (flags.list_operators) {
    std::vector<std::string> lines;
    for (const auto& entry : onnx_export::converter_registry().entries())
      if (entry.opsets.contains(flags.settings.opset))
        lines.push_back(fmt::format("{} -> {}", entry.aten_operator, fmt::join(entry.emits, ", ")));
    std::sort(lines.begin(), lines.end());
    for (const auto& line : lines) fmt::print("{}\n", line);
    return 0;
  }
  if (!flags.torchscript_path.empty())
    return run_torchscript_job({flags.torchscript_path, flags.input_shapes, flags.output_path}, flags.settings);
  return flags.pattern.empty() ? run_single(flags) : run_batch(flags);
}

}  // namespace mltk::cli
