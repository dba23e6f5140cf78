#pragma once
// The registry of architectures: one entry per name, each knowing how to build itself and which
// torchvision weights file holds its ImageNet weights.
#include "mltk/models/classifier.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mltk::models {

enum class ModelType { base, custom };

std::string to_string(ModelType type);
ModelType model_type_from_string(const std::string& text);

struct ModelOptions {
  std::string architecture;
  int64_t num_classes = 2;
  // Only the custom architectures read input_size; base models are size-agnostic or fixed (ViT).
  int64_t input_size = 224;
  // Overrides the architecture's own dropout where it has one (torchvision's default when unset).
  std::optional<double> dropout;
};

struct ArchitectureEntry {
  std::string name;
  ModelType type = ModelType::base;
  std::function<Classifier(const ModelOptions&)> build;
  // File name torchvision 0.14 caches for the DEFAULT weights (empty for custom models).
  std::string torchvision_weights_file;
};

class ModelZoo {
 public:
  static const ModelZoo& instance();
  // Adds an architecture defined outside the library, so that a program linking mltk can train,
  // export and validate its own model with the same machinery. Call it before other threads use
  // the zoo; throws std::logic_error when the name is taken.
  static void register_architecture(ArchitectureEntry entry);

  void add(ArchitectureEntry entry);
  // Throws std::invalid_argument listing the known names when `name` is not registered.
  const ArchitectureEntry& find(const std::string& name) const;
  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;  // in registration order

 private:
  static ModelZoo& registry();
  std::vector<ArchitectureEntry> entries_;
};

// Builds the architecture named by options.architecture, with freshly initialised weights.
Classifier create_model(const ModelOptions& options);

int64_t count_parameters(const torch::nn::Module& module);

}  // namespace mltk::models
