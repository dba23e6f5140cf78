// ml-init-config: writes a commented starting configuration for a dataset folder.
#include "mltk/cli/app.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/logging.h"
#include "mltk/config/config.h"
#include "mltk/data/splitter.h"

#include <filesystem>

namespace {

using namespace mltk;
namespace fs = std::filesystem;

std::string class_comments(const std::vector<std::pair<std::string, size_t>>& counts) {
  std::string text;
  for (const auto& [name, count] : counts) text += fmt::format("#   {:<24} {} images\n", name, count);
  return text;
}

std::string config_text(const std::string& dataset_name, const std::string& data_dir,
                        const std::vector<std::pair<std::string, size_t>>& counts, const std::string& architecture) {
  return fmt::format(R"(# Configuration for the '{0}' dataset, written by ml-init-config.
# Images: {1}/{0}/raw; run `ml-split --raw_data {1}/{0}/raw` to write the splits first.
# Classes found (label = position in this sorted list):
{2}# Every key is described in docs/configuration.md.
data:
  dataset_name: {0}
  data_dir: {1}
  fold: 0                   # cross-validation fold to train on (0 .. num_folds-1)
  num_folds: 5
  test_ratio: 0.2
  num_workers: 2            # image decoding threads

model:
  type: base                # base: a torchvision architecture; custom: simple_cnn or tiny_net
  architecture: {3}    # ml-train --list_models prints every choice
  custom_architecture: null
  num_classes: {4}
  input_size: 224
  weights: null             # null, DEFAULT (torchvision ImageNet weights from the torch cache) or a file
  dropout: null             # null keeps the architecture's own default

training:
  num_epochs: 25
  batch_size: 32
  seed: 42
  device: cpu

optimizer:
  name: sgd
  lr: 0.001
  momentum: 0.9

scheduler:
  name: step
  step_size: 7
  gamma: 0.1

transforms:
  train:
    random_resized_crop:
      scale: [0.08, 1.0]
      ratio: [0.75, 1.3333333333333333]
    horizontal_flip: 0.5
    color_jitter: {{brightness: 0.0, contrast: 0.0, saturation: 0.0, hue: 0.0}}
  eval:
    resize: 256             # shorter side before the centre crop to model.input_size
  normalize:                # ImageNet statistics, right for torchvision weights
    mean: [0.485, 0.456, 0.406]
    std: [0.229, 0.224, 0.225]
)",
                     dataset_name, data_dir, class_comments(counts), architecture, counts.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ml-init-config: write a commented configuration for a dataset folder (data/<name> holding raw/)."};
  std::string dataset_dir, output, architecture = "resnet18";
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
    config::parse_config(text, output);  // never write a file ml-train would reject
    if (fs::path(output).has_parent_path()) fs::create_directories(fs::path(output).parent_path());
    write_file_atomically(output, text);
    log::success("✓ Wrote {} ({} classes)", output, counts.size());
    return 0;
  });
}
