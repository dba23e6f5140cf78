#pragma once
// Builds the model a configuration describes, including its initial weights (model.weights), and
// the model of a checkpoint from its weights.
#include "mltk/checkpoint/state_dict.h"
#include "mltk/config/config.h"
#include "mltk/models/classifier.h"
#include "mltk/models/zoo.h"

#include <string>
#include <vector>

namespace mltk::models {

struct BuiltModel {
  Classifier model;
  std::string architecture;
  std::string weights_source;             // "random initialisation", a file path, ...
  std::vector<std::string> fresh_layers;  // weights kept from initialisation (a new classifier head)
};

// model.weights: null keeps the initialisation; DEFAULT loads torchvision's ImageNet weights from
// the torch cache; anything else is a checkpoint or state-dict file. Pretrained weights whose
// classifier has another number of classes load everything but that layer, which stays freshly
// initialised and is listed in fresh_layers.
BuiltModel build_model(const config::Config& config, int64_t num_classes);

// Builds options.architecture holding the weights of `state`, which must name every parameter and
// buffer (throws naming `source` otherwise). Since they replace all of them, the model skips its
// random initialisation, and it shares the memory of `state`'s tensors instead of copying them.
Classifier create_model_with_weights(const ModelOptions& options, const checkpoint::StateDict& state,
                                     const std::string& source);

}  // namespace mltk::models
