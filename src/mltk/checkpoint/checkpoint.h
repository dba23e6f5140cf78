#pragma once
// The checkpoint file format shared by ml-train, ml-inference and ml-export: a torch.save-compatible
// plain dict (see docs/checkpoint-format.md).
#include "mltk/checkpoint/state_dict.h"

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mltk::checkpoint {

struct ModelInfo {
  std::string type;          // "base" or "custom"
  std::string architecture;  // a zoo name, e.g. "resnet18"
  int64_t num_classes = 0;
  int64_t input_size = 224;
  // The shorter side images were resized to before the evaluation centre crop; absent in
  // checkpoints written before it was recorded.
  std::optional<int64_t> eval_resize;
};

struct Normalization {
  std::array<double, 3> mean{0.485, 0.456, 0.406};
  std::array<double, 3> std{0.229, 0.224, 0.225};
};

struct Checkpoint {
  StateDict model_state_dict;
  ModelInfo model;
  std::vector<std::string> class_names;
  Normalization normalization;
  int64_t epoch = 0;
  std::string config;  // the resolved YAML configuration text
  // Further entries (optimizer state, metrics, ...) kept as they are, by key.
  std::map<std::string, c10::IValue> extras;
};

// Writes atomically; Python's torch.load reads the result as a plain dict.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// Throws std::runtime_error naming `path` and the problem: missing, truncated or corrupted file,
// missing or ill-typed key, class_names not matching num_classes.
Checkpoint load_checkpoint(const std::string& path);

// Weights for model.weights: a checkpoint dict (its model_state_dict), a dict with a "state_dict"
// entry, or a bare state dict such as torchvision's .pth files.
StateDict load_weights_file(const std::string& path);

// Where Python torchvision caches downloaded weights: $TORCH_HOME/hub/checkpoints, with
// TORCH_HOME defaulting to $XDG_CACHE_HOME/torch or ~/.cache/torch.
std::string torchvision_weights_dir();

// torchvision's cached weights file `file_name` (in torchvision_weights_dir()) for `architecture`;
// throws with the expected path and where to get the file when it is absent.
StateDict load_torchvision_weights(const std::string& architecture, const std::string& file_name);

}  // namespace mltk::checkpoint
