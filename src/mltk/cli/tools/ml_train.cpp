// ml-train: trains an image classifier from a YAML configuration.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/common/logging.h"
#include "mltk/common/torch_runtime.h"
#include "mltk/config/config.h"
#include "mltk/models/zoo.h"
#include "mltk/pipeline/dataset.h"
#include "mltk/pipeline/model_builder.h"
#include "mltk/report/run_page.h"
#include "mltk/train/data_parallel.h"
#include "mltk/train/interrupt.h"
#include "mltk/train/trainer.h"

#include <csignal>
#include <filesystem>
#include <iostream>

namespace mltk::cli {

namespace ml_train {

struct TrainFlags {
  std::string config_path;
  bool list_models = false;
  bool dry_run = false;
  bool resume = false, overwrite = false;
  std::string runs_dir = "runs";
  std::optional<int> fold, batch_size, num_epochs, seed, num_workers;
  std::optional<double> lr;
  std::optional<std::string> device;
  int dist_timeout_seconds = 300;
};

std::vector<config::Override> overrides_of(const TrainFlags& flags) {
  std::vector<config::Override> out;
  const auto add = [&out](const char* key, const auto& value) {
    if (value) {
      std::ostringstream text;
      text << *value;
      out.emplace_back(key, text.str());
    }
  };
  add("data.fold", flags.fold);
  add("data.num_workers", flags.num_workers);
  add("training.batch_size", flags.batch_size);
  add("training.num_epochs", flags.num_epochs);
  add("training.seed", flags.seed);
  add("training.device", flags.device);
  add("optimizer.lr", flags.lr);
  return out;
}

int dry_run(const config::Config& config) {
  log::info("Configuration {} is valid", config.source);
  std::vector<std::string> class_names;
  const int64_t num_classes = pipeline::resolve_num_classes(config, class_names);
  log::info("Creating model: {} ({})", config.model.zoo_name(), config.model.type);
  const auto built = pipeline::build_model(config, num_classes);
  int64_t trainable = 0;
  for (const auto& p : built.model->parameters())
    if (p.requires_grad()) trainable += p.numel();
  log::info("Architecture:  {}", built.architecture);
  log::info("Parameters:    {} ({} trainable)", models::count_parameters(*built.model), trainable);
  log::info("Classes:       {}{}", num_classes,
            class_names.empty() ? "" : " (" + fmt::format("{}", fmt::join(class_names, ", ")) + ")");
  log::info("Input size:    {}x{}", config.model.input_size, config.model.input_size);
  log::info("Weights:       {}", built.weights_source);
  for (const auto& layer : built.fresh_layers) log::info("  new classifier tensor (not from weights): {}", layer);
  log::success("✓ Dry run complete: configuration, model and weights are ready for training");
  return 0;
}

}  // namespace ml_train

int ml_train_main(int argc, char** argv) {
  using namespace ml_train;
  CLI::App app{"ml-train: train an image classifier described by a YAML configuration.\n"
               "Flags override the matching configuration keys."};
  TrainFlags flags;
  cli::CommonOptions common;
  app.add_option("--config", flags.config_path, "YAML configuration (see configs/hymenoptera_config.yaml)")
      ->check(CLI::ExistingFile);
  app.add_flag("--list_models", flags.list_models, "Print every architecture name, one per line, and exit");
  app.add_flag("--dry_run", flags.dry_run,
               "Validate the configuration, build the model, load model.weights and print a summary; no training");
  app.add_option("--fold", flags.fold, "data.fold");
  app.add_option("--lr", flags.lr, "optimizer.lr");
  app.add_option("--batch_size", flags.batch_size, "training.batch_size");
  app.add_option("--num_epochs", flags.num_epochs, "training.num_epochs");
  app.add_option("--seed", flags.seed, "training.seed");
  app.add_option("--num_workers", flags.num_workers, "data.num_workers");
  app.add_option("--device", flags.device, "training.device (cpu, cuda, auto)");
  app.add_option("--runs_dir", flags.runs_dir, "Folder holding the run folders <dataset>_<model.type>_fold_<k>")
      ->capture_default_str();
  app.add_option("--dist_timeout", flags.dist_timeout_seconds,
                 "Under torchrun: seconds a process waits for the others (to join, and at every exchange) before "
                 "it stops and names the rank that is missing")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* resume = app.add_flag("--resume", flags.resume, "Continue an existing run from its weights/last.pt");
  app.add_flag("--overwrite", flags.overwrite, "Delete an existing run folder and start again")->excludes(resume);
  cli::add_common_options(app, common);

  return cli::run(app, common, argc, argv, [&]() -> int {
    if (flags.list_models) {
      for (const auto& name : models::ModelZoo::instance().names()) std::cout << name << "\n";
      return 0;
    }
    if (flags.config_path.empty()) throw std::runtime_error("--config FILE is required (or use --list_models)");
    const auto config = config::load_config(flags.config_path, overrides_of(flags));
    pipeline::check_architecture_choice(config);
    if (flags.dry_run) return dry_run(config);
    if (common.threads == 0 && config.training.threads > 0) configure_torch_runtime(config.training.threads);
    train::TrainOptions options;
    options.runs_dir = flags.runs_dir;
    options.existing_run = flags.resume      ? train::ExistingRun::resume
                           : flags.overwrite ? train::ExistingRun::overwrite
                                             : train::ExistingRun::refuse;
    options.on_progress = report::write_run_page;
    options.collectives = train::join_data_parallel_job(std::chrono::seconds(flags.dist_timeout_seconds));
    const auto result = train::train(config, options);
    if (result.outcome == train::TrainOutcome::interrupted) {
      const int signal = train::interrupt_signal();
      log::warning("Training interrupted by {}", signal == SIGTERM ? "SIGTERM" : "Ctrl-C");
      return 128 + signal;  // the shell's convention for a process ended by a signal: 130 for SIGINT
    }
    return 0;
  });
}

}  // namespace mltk::cli
