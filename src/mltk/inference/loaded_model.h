#pragma once
// A checkpoint turned back into what inference needs: the LibTorch model, its class names and
// the configuration (eval transform, dataset location) it was trained with.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/config/config.h"
#include "mltk/models/classifier.h"

#include <string>

namespace mltk::inference {

struct LoadedModel {
  checkpoint::Checkpoint checkpoint;
  models::Classifier model;  // in eval mode
  // The checkpoint's config text (defaults for checkpoints without one), with model.input_size, the
  // normalisation and transforms.eval.resize taken from the checkpoint's own entries, which are
  // authoritative (checkpoints without a recorded resize get their configuration's, else 256).
  config::Config config;
};

// Throws naming `path` when the file is unusable or its weights do not fit the architecture.
LoadedModel load_model(const std::string& path);

// The configuration as LoadedModel::config describes it, for a checkpoint read from `path`.
config::Config checkpoint_config(const checkpoint::Checkpoint& checkpoint, const std::string& path);

}  // namespace mltk::inference
