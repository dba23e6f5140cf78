#include "mltk/models/model_builder.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/models/skip_initialisation.h"

#include <map>
#include <stdexcept>

namespace mltk::models {
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

BuiltModel build_model(const config::Config& config, int64_t num_classes) {
  BuiltModel built;
  built.architecture = config.model.zoo_name();
  torch::manual_seed(config.training.seed);
  built.model = create_model({built.architecture, num_classes, config.model.input_size, config.model.dropout});
  if (!config.model.weights) {
    built.weights_source = "random initialisation (seed " + std::to_string(config.training.seed) + ")";
    return built;
  }
  const std::string& weights = *config.model.weights;
  checkpoint::StateDict state;
  if (weights == "DEFAULT") {
    state = checkpoint::load_default_weights(built.architecture);
    built.weights_source = "torchvision DEFAULT weights from " + checkpoint::torchvision_weights_dir();
  } else {
    state = checkpoint::load_weights_file(weights);
    built.weights_source = weights;
  }
  built.fresh_layers = load_all_but_head(*built.model, state, num_classes, weights);
  return built;
}

Classifier create_model_with_weights(const ModelOptions& options, const checkpoint::StateDict& state,
                                     const std::string& source) {
  Classifier model = [&] {
    SkipInitialisation skip;
    return create_model(options);
  }();
  checkpoint::load_state_dict(*model, state, source, checkpoint::LoadMode::share);
  return model;
}

}  // namespace mltk::models
