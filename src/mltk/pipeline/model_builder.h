#pragma once
// Builds the model a configuration describes, including its initial weights (model.weights), and
// the model of a checkpoint from its weights. The zoo, the configuration and the checkpoint files
// meet here, so that none of them needs to know the others.
#include "mltk/checkpoint/state_dict.h"
#include "mltk/config/config.h"
#include "mltk/models/classifier.h"
#include "mltk/models/zoo.h"

#include <string>
#include <vector>

namespace mltk::pipeline {

// Throws config::ConfigError naming config.source when model.architecture (type base) or
// model.custom_architecture (type custom) is not a zoo architecture of that type.
void check_architecture_choice(const config::Config& config);

struct BuiltModel {
  models::Classifier model;
  std::string architecture;
  std::string weights_source;             // "random initialisation", a file path, ...
  std::vector<std::string> fresh_layers;  // weights kept from initialisation (a new classifier head)
};

// model.weights: null keeps the initialisation; DEFAULT loads torchvision's ImageNet weights from
// the torch cache; anything else is a checkpoint or state-dict file. Pretrained weights whose
// classifier has another number of classes load everything but that layer, which stays freshly
// initialised and is listed in fresh_layers.
BuiltModel build_model(const config::Config& config, int64_t num_classes);

// The DEFAULT (ImageNet) weights of a base architecture from the torchvision cache; throws for
// architectures without torchvision weights and, naming the expected path, when the file is absent.
checkpoint::StateDict load_default_weights(const std::string& architecture);

// Builds options.architecture holding the weights of `state`, which must name every parameter and
// buffer (throws naming `source` otherwise). Since they replace all of them, the model skips its
// random initialisation, and it shares the memory of `state`'s tensors instead of copying them.
models::Classifier create_model_with_weights(const models::ModelOptions& options, const checkpoint::StateDict& state,
                                             const std::string& source);

}  // namespace mltk::pipeline
