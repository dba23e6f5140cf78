#include "mltk/pipeline/model_builder.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/models/skip_initialisation.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace mltk::pipeline {
namespace {

// A tensor of the classifier head trained for another number of classes: only its first dimension
// (the class count) differs.
bool is_other_head(const torch::Tensor& own, const torch::Tensor& given, int64_t num_classes) {
  if (own.dim() != given.dim() || own.dim() == 0 || own.size(0) != num_classes) return false;
  return own.sizes().slice(1) == given.sizes().slice(1);
}

// Loads everything, except head tensors sized for another class count, which keep their
// initialisation and are returned. Key sets must be identical and any other shape mismatch is an
// error, so weights of another architecture are rejected.
std::vector<std::string> load_all_but_head(torch::nn::Module& module, const checkpoint::StateDict& weights,
                                           int64_t num_classes, const std::string& source) {
  std::map<std::string, torch::Tensor> own;
  for (auto& [name, tensor] : checkpoint::state_dict_of(module)) own.emplace(name, tensor);
  checkpoint::StateDict fitting;
  std::vector<std::string> mismatched;
  for (const auto& [name, tensor] : weights) {
    auto it = own.find(name);
    if (it != own.end() && it->second.sizes() != tensor.sizes() && is_other_head(it->second, tensor, num_classes)) {
      mismatched.push_back(name);
      fitting.emplace_back(name, it->second.clone());
    } else {
      fitting.emplace_back(name, tensor);
    }
  }
  checkpoint::load_state_dict(module, fitting, source);
  return mismatched;
}

}  // namespace

void check_architecture_choice(const config::Config& config) {
  const auto& zoo = models::ModelZoo::instance();
  std::vector<std::string> allowed;
  for (const auto& candidate : zoo.names())
    if (models::to_string(zoo.find(candidate).type) == config.model.type) allowed.push_back(candidate);
  const std::string name = config.model.zoo_name();
  if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
    throw config::ConfigError(config.source + ": " + config.model.architecture_key() + " = '" + name + "' is not a " +
                              config.model.type + " architecture; available: " + fmt::format("{}", fmt::join(allowed, ", ")));
}

BuiltModel build_model(const config::Config& config, int64_t num_classes) {
  BuiltModel built;
  built.architecture = config.model.zoo_name();
  torch::manual_seed(config.training.seed);
  built.model = models::create_model({built.architecture, num_classes, config.model.input_size, config.model.dropout});
  if (!config.model.weights) {
    built.weights_source = "random initialisation (seed " + std::to_string(config.training.seed) + ")";
    return built;
  }
  const std::string& weights = *config.model.weights;
  checkpoint::StateDict state;
  if (weights == "DEFAULT") {
    state = load_default_weights(built.architecture);
    built.weights_source = "torchvision DEFAULT weights from " + checkpoint::torchvision_weights_dir();
  } else {
    state = checkpoint::load_weights_file(weights);
    built.weights_source = weights;
  }
  built.fresh_layers = load_all_but_head(*built.model, state, num_classes, weights);
  return built;
}

checkpoint::StateDict load_default_weights(const std::string& architecture) {
  const auto& entry = models::ModelZoo::instance().find(architecture);
  if (entry.torchvision_weights_file.empty())
    throw std::runtime_error("model.weights: DEFAULT is only available for base (torchvision) architectures; '" +
                             architecture + "' has no pretrained weights");
  return checkpoint::load_torchvision_weights(architecture, entry.torchvision_weights_file);
}

models::Classifier create_model_with_weights(const models::ModelOptions& options, const checkpoint::StateDict& state,
                                             const std::string& source) {
  models::Classifier model = [&] {
    models::SkipInitialisation skip;
    return models::create_model(options);
  }();
  checkpoint::load_state_dict(*model, state, source, checkpoint::LoadMode::share);
  return model;
}

}  // namespace mltk::pipeline
