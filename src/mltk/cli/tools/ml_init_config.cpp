// ml-init-config: writes a commented starting configuration for a dataset folder.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/logging.h"
#include "mltk/config/config.h"
#include "mltk/config/config_writer.h"
#include "mltk/data/splitter.h"
#include "mltk/pipeline/model_builder.h"

#include <filesystem>

namespace mltk::cli {

namespace ml_init_config {

namespace fs = std::filesystem;

std::string class_comments(const std::vector<std::pair<std::string, size_t>>& counts) {
  std::string text;
  for (const auto& [name, count] : counts) text += fmt::format("#   {:<24} {} images\n", name, count);
  return text;
}

std::string config_text(const std::string& dataset_name, const std::string& data_dir,
                        const std::vector<std::pair<std::string, size_t>>& counts, const std::string& architecture) {
  const std::string header = fmt::format(R"(# Configuration for the '{0}' dataset, written by ml-init-config.
# Images: {1}/{0}/raw; run `ml-split --raw_data {1}/{0}/raw` to write the splits first.
# Classes found (label = position in this sorted list):
{2}# Every key is described in docs/configuration.md; those not about this dataset hold their defaults.
)",
                                         dataset_name, data_dir, class_comments(counts));
  return header + config::commented_configuration({{"data.dataset_name", YAML::Node(dataset_name)},
                                                   {"data.data_dir", YAML::Node(data_dir)},
                                                   {"model.architecture", YAML::Node(architecture)},
                                                   {"model.num_classes", YAML::Node(counts.size())}});
}

}  // namespace ml_init_config

int ml_init_config_main(int argc, char** argv) {
  using namespace ml_init_config;
  CLI::App app{"ml-init-config: write a commented configuration for a dataset folder (data/<name> holding raw/)."};
  std::string dataset_dir, output;
  std::string architecture = config::default_config().model.architecture.value_or("");
  bool force = false;
  cli::CommonOptions common;
  app.add_option("dataset", dataset_dir, "The dataset folder, e.g. data/hymenoptera")->required()->check(CLI::ExistingDirectory);
  app.add_option("--output", output, "Config file to write (default: configs/<name>_config.yaml)");
  app.add_option("--architecture", architecture, "model.architecture")->capture_default_str();
  app.add_flag("--force", force, "Overwrite an existing file");
  cli::add_common_options(app, common);

  return cli::run(app, common, argc, argv, [&]() -> int {
    auto dataset = fs::path(dataset_dir).lexically_normal();
    if (!dataset.has_filename()) dataset = dataset.parent_path();
    const std::string name = dataset.filename().string();
    const std::string data_dir = dataset.has_parent_path() ? dataset.parent_path().generic_string() : ".";
    const auto counts = data::count_class_images((dataset / "raw").string());
    if (output.empty()) output = "configs/" + name + "_config.yaml";
    if (fs::exists(output) && !force) throw std::runtime_error(output + " already exists; pass --force to overwrite it");

    const std::string text = config_text(name, data_dir, counts, architecture);
    // Never write a file ml-train would reject.
    pipeline::check_architecture_choice(config::parse_config(text, output));
    if (fs::path(output).has_parent_path()) fs::create_directories(fs::path(output).parent_path());
    write_file_atomically(output, text);
    log::success("✓ Wrote {} ({} classes)", output, counts.size());
    return 0;
  });
}

}  // namespace mltk::cli
