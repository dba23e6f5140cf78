#pragma once
// The pipeline configuration: a YAML file validated against the schema (schema.h), completed with
// defaults, and overridden by command-line flags.
#include <yaml-cpp/yaml.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mltk::config {

// Names the file (or "command line"), the line when known, and the key path.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every field is filled from the schema's defaults, then the file, then overrides (schema.cpp holds
// the defaults; the zero values here are never used as settings).
struct Config {
  struct Data {
    std::optional<std::string> dataset_name;
    std::string data_dir;
    int fold = 0, num_folds = 0, num_workers = 0;
    double test_ratio = 0;
  } data;
  struct Model {
    std::string type;
    std::optional<std::string> architecture, custom_architecture, weights;
    std::optional<int> num_classes;
    int input_size = 0;
    std::optional<double> dropout;
    bool freeze_backbone = false;
    // The zoo name that model.type selects: architecture (base) or custom_architecture (custom).
    // The configuration only requires it to be set; whether the zoo has it is checked where
    // models are built (pipeline::check_architecture_choice).
    std::string zoo_name() const;
    // The key holding that name: "model.architecture" or "model.custom_architecture".
    std::string architecture_key() const;
  } model;
  struct Training {
    int num_epochs = 0, batch_size = 0, seed = 0, threads = 0, early_stopping_patience = 0;
    std::string device, early_stopping_monitor;
    double label_smoothing = 0;
  } training;
  struct Optimizer {
    std::string name;
    double lr = 0, momentum = 0, weight_decay = 0;
    bool nesterov = false;
  } optimizer;
  struct Scheduler {
    std::string name;
    int step_size = 0, patience = 0;
    std::optional<int> t_max;
    double gamma = 0, min_lr = 0, factor = 0;
  } scheduler;
  struct Transforms {
    std::array<double, 2> crop_scale{}, crop_ratio{};
    double horizontal_flip = 0, brightness = 0, contrast = 0, saturation = 0, hue = 0;
    std::optional<int> eval_resize;  // unset: follows model.input_size (resolved_eval_resize)
    std::array<double, 3> mean{}, std{};
  } transforms;

  // The shorter side images are resized to before the evaluation centre crop: transforms.eval.resize,
  // or default_eval_resize(model.input_size) when it is unset.
  int resolved_eval_resize() const;

  std::string source;  // the file it came from, or "defaults"
  YAML::Node tree;     // the resolved tree: defaults + file + overrides

  // The resolved configuration as YAML text (stored in checkpoints and run folders).
  std::string to_yaml() const;
};

// torchvision's recipes resize by 8/7 of the crop before centre-cropping (256 for 224), so the crop
// keeps the same share of the image whatever the input size: round(input_size * 8 / 7).
int default_eval_resize(int input_size);

// A command-line override: dotted key path and its value as YAML text ("0.01", "adam", "null").
using Override = std::pair<std::string, std::string>;

// Defaults only, with overrides applied.
Config default_config(const std::vector<Override>& overrides = {});
// Reads, validates and resolves `path`; throws ConfigError naming the file, line and key.
Config load_config(const std::string& path, const std::vector<Override>& overrides = {});
// Same, from YAML text (`source` names it in errors).
Config parse_config(const std::string& yaml_text, const std::string& source, const std::vector<Override>& overrides = {});

}  // namespace mltk::config
