#include "mltk/models/zoo.h"

#include "mltk/models/families.h"

#include <stdexcept>

namespace mltk::models {

std::string to_string(ModelType type) { return type == ModelType::base ? "base" : "custom"; }

ModelType model_type_from_string(const std::string& text) {
  if (text == "base") return ModelType::base;
  if (text == "custom") return ModelType::custom;
  throw std::invalid_argument("unknown model type '" + text + "' (expected 'base' or 'custom')");
}

ModelZoo& ModelZoo::registry() {
  static ModelZoo zoo = [] {
    ModelZoo z;
    register_resnet_family(z);
    register_efficientnet_family(z);
    register_mobilenet_family(z);
    register_vgg_family(z);
    register_densenet_family(z);
    register_vit_family(z);
    register_convnext_family(z);
    register_custom_family(z);
    return z;
  }();
  return zoo;
}

const ModelZoo& ModelZoo::instance() { return registry(); }

void ModelZoo::register_architecture(ArchitectureEntry entry) { registry().add(std::move(entry)); }

void ModelZoo::add(ArchitectureEntry entry) {
  if (contains(entry.name)) throw std::logic_error("architecture registered twice: " + entry.name);
  entries_.push_back(std::move(entry));
}

bool ModelZoo::contains(const std::string& name) const {
  for (const auto& entry : entries_)
    if (entry.name == name) return true;
  return false;
}

const ArchitectureEntry& ModelZoo::find(const std::string& name) const {
  for (const auto& entry : entries_)
    if (entry.name == name) return entry;
  std::string known;
  for (const auto& entry : entries_) known += (known.empty() ? "" : ", ") + entry.name;
  throw std::invalid_argument("unknown architecture '" + name + "'; available: " + known);
}

std::vector<std::string> ModelZoo::names() const {
  std::vector<std::string> out;
  for (const auto& entry : entries_) out.push_back(entry.name);
  return out;
}

Classifier create_model(const ModelOptions& options) {
  if (options.num_classes < 1)
    throw std::invalid_argument("num_classes must be at least 1, got " + std::to_string(options.num_classes));
  return ModelZoo::instance().find(options.architecture).build(options);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace mltk::models
