#pragma once
// Builds the model a configuration describes, including its initial weights (model.weights).
#include "mltk/config/config.h"
#include "mltk/models/classifier.h"

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

}  // namespace mltk::models
