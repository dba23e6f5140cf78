// ml-inference: evaluates a trained checkpoint on its dataset's test split, or classifies images.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/logging.h"
#include "mltk/inference/evaluate_split.h"
#include "mltk/inference/frozen_forward.h"
#include "mltk/inference/image_predictions.h"
#include "mltk/inference/loaded_model.h"
#include "mltk/inference/report.h"
#include "mltk/pipeline/dataset.h"
#include "mltk/report/evaluation_page.h"
#include "mltk/runtime/onnx_model_checks.h"
#include "mltk/runtime/reference_evaluator.h"

#include <filesystem>
#include <iostream>
#include <memory>

namespace mltk::cli {

namespace ml_inference {

namespace fs = std::filesystem;

struct InferenceFlags {
  std::string checkpoint_path, onnx_path, data_dir, split_file, output;
  std::vector<std::string> images;
  int batch_size = 32;
  std::optional<int> num_workers;
  bool eager = false;
  bool direct_convolutions = false;
};

// With only --onnx_path, the checkpoint it was exported from is expected beside it (best.onnx ->
// best.pt): the ONNX file carries no class names or dataset location.
std::string checkpoint_for(const InferenceFlags& flags) {
  if (!flags.checkpoint_path.empty()) return flags.checkpoint_path;
  const auto sibling = fs::path(flags.onnx_path).replace_extension(".pt").string();
  if (!fs::exists(sibling))
    throw std::runtime_error("--onnx_path needs the checkpoint it was exported from for class names and data; pass "
                             "--checkpoint_path (looked for " + sibling + ")");
  return sibling;
}

std::string default_report_path(const InferenceFlags& flags, const std::string& checkpoint_path) {
  if (!flags.onnx_path.empty()) return fs::path(flags.onnx_path).replace_extension(".onnx_test_report.json").string();
  return inference::test_report_path(checkpoint_path);
}

}  // namespace ml_inference

int ml_inference_main(int argc, char** argv) {
  using namespace ml_inference;
  CLI::App app{"ml-inference: evaluate a trained checkpoint on its test split, or classify images."};
  InferenceFlags flags;
  cli::CommonOptions common;
  app.add_option("--checkpoint_path", flags.checkpoint_path, "Checkpoint written by ml-train (best.pt)")
      ->check(CLI::ExistingFile);
  app.add_option("--onnx_path", flags.onnx_path,
                 "Evaluate this ONNX export with the reference evaluator instead of LibTorch")
      ->check(CLI::ExistingFile);
  app.add_option("--images", flags.images, "Image files or folders to classify instead of evaluating a split");
  app.add_option("--data_dir", flags.data_dir, "Overrides the checkpoint's data.data_dir");
  app.add_option("--split_file", flags.split_file, "Index file to evaluate (default: <data_dir>/<dataset>/splits/test.txt)");
  app.add_option("--output", flags.output, "Report JSON path (default: beside the checkpoint, <name>.test_report.json); the HTML page goes beside it with the extension .html");
  app.add_option("--batch_size", flags.batch_size, "Images per batch")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--num_workers", flags.num_workers, "Image decoding threads (default: data.num_workers)");
  app.add_flag("--eager", flags.eager,
               "Run the model module by module as trained, instead of its frozen graph (batch norms folded into "
               "convolutions, oneDNN kernels with packed weights); slower, bit-for-bit the eager numerics");
  app.add_flag("--direct_convolutions", flags.direct_convolutions,
               "In the frozen graph, run unstrided 3x3 convolutions on oneDNN's direct kernels instead of its "
               "Winograd ones: slower, closer to eager's rounding, and without Winograd's transformed weights "
               "(about four times the memory of those convolutions' weights)");
  cli::add_common_options(app, common);

  return cli::run(app, common, argc, argv, [&]() -> int {
    if (flags.checkpoint_path.empty() && flags.onnx_path.empty())
      throw std::runtime_error("--checkpoint_path (or --onnx_path) is required");
    const std::string checkpoint_path = checkpoint_for(flags);
    auto loaded = inference::load_model(checkpoint_path);
    if (!flags.data_dir.empty()) loaded.config.data.data_dir = flags.data_dir;
    if (flags.num_workers) loaded.config.data.num_workers = *flags.num_workers;
    const auto& class_names = loaded.checkpoint.class_names;

    std::unique_ptr<runtime::ReferenceEvaluator> evaluator;
    const pipeline::ForwardFn eager = [&](const torch::Tensor& images) { return loaded.model->forward(images); };
    pipeline::ForwardFn forward = eager;
    std::shared_ptr<inference::FrozenForward> frozen;
    if (flags.onnx_path.empty() && !flags.eager) {
      frozen = std::make_shared<inference::FrozenForward>(*loaded.model, eager, !flags.direct_convolutions);
      forward = [frozen](const torch::Tensor& images) { return (*frozen)(images); };
    }
    if (!flags.onnx_path.empty()) {
      // Checked before anything runs; the evaluator then takes over the model it parsed.
      evaluator = std::make_unique<runtime::ReferenceEvaluator>(runtime::load_checked_onnx_model(flags.onnx_path),
                                                                flags.onnx_path);
      forward = inference::onnx_forward(*evaluator);
      log::info("Running {} with the reference ONNX evaluator", flags.onnx_path);
    }

    if (!flags.images.empty()) {
      int failures = 0;
      for (const auto& p : inference::predict_images(forward, inference::collect_images(flags.images), loaded.config,
                                                     class_names)) {
        if (p.error.empty()) {
          std::cout << p.path << "\t" << p.class_name << "\t" << fmt::format("{:.4f}", p.confidence) << "\n";
        } else {
          log::warning("{}: {}", p.path, p.error);
          ++failures;
        }
      }
      return failures == 0 ? 0 : 1;
    }

    const std::string split_file =
        flags.split_file.empty() ? data::test_index_path(pipeline::dataset_layout(loaded.config).splits_dir) : flags.split_file;
    log::info("Evaluating {} (epoch {}) on {}", checkpoint_path, loaded.checkpoint.epoch, split_file);
    const auto evaluation = inference::evaluate_split(forward, loaded.config, split_file, class_names, flags.batch_size);
    std::cout << inference::format_report(evaluation.report);
    auto json = inference::to_json(evaluation.report);
    json["checkpoint"] = checkpoint_path;
    json["split_file"] = split_file;
    json["runtime"] = !flags.onnx_path.empty() ? "onnx reference evaluator (" + flags.onnx_path + ")"
                      : flags.eager             ? "libtorch eager"
                                                : "libtorch frozen graph";
    const std::string output = flags.output.empty() ? default_report_path(flags, checkpoint_path) : flags.output;
    write_file_atomically(output, json.dump(2) + "\n");
    const std::string page = report::evaluation_page_path(output);
    report::write_page(page, report::evaluation_page(evaluation, flags.onnx_path.empty() ? checkpoint_path : flags.onnx_path));
    log::success("✓ Accuracy {:.4f} on {} images; report written to {} and {}", evaluation.report.accuracy,
                 evaluation.report.num_samples, output, page);
    return 0;
  });
}

}  // namespace mltk::cli
