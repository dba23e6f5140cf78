#include "mltk/train/training_state.h"

#include "mltk/train/optimizer.h"

#include <torch/torch.h>

#include <cstring>
#include <stdexcept>

namespace mltk::train {

void store_training_state(checkpoint::Checkpoint& checkpoint, TrainingState state, int64_t seed) {
  const std::string bytes = serialize_optimizer(state.optimizer);
  auto tensor = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(tensor.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  checkpoint.extras["optimizer_state"] = tensor;
  checkpoint.extras["scheduler_state"] = state.scheduler.state();
  checkpoint.extras["best_val_accuracy"] = state.best_accuracy.state();
  checkpoint.extras["early_stopping"] = state.early_stopping.state();
  // Every random stream of an epoch (shuffling, augmentation, dropout) is derived from the seed and
  // the epoch number, so the seed is the whole RNG state a resumed run needs.
  checkpoint.extras["seed"] = seed;
}

void restore_training_state(const checkpoint::Checkpoint& checkpoint, TrainingState state, const std::string& source) {
  const auto entry = [&](const std::string& key) -> const c10::IValue& {
    const auto found = checkpoint.extras.find(key);
    if (found == checkpoint.extras.end())
      throw std::runtime_error(source + " has no '" + key + "' entry; it was not written by ml-train and cannot be resumed");
    return found->second;
  };
  const auto tensor = entry("optimizer_state").toTensor().contiguous();
  deserialize_optimizer(state.optimizer,
                        std::string(reinterpret_cast<const char*>(tensor.data_ptr<uint8_t>()), tensor.numel()));
  state.scheduler.load_state(entry("scheduler_state"));
  state.best_accuracy.load_state(entry("best_val_accuracy"));
  state.early_stopping.load_state(entry("early_stopping"));
}

void store_resumes(checkpoint::Checkpoint& checkpoint, const std::vector<int64_t>& resumed_after) {
  checkpoint.extras["resumed_after_epochs"] = c10::List<int64_t>(resumed_after);
}

std::vector<int64_t> restore_resumes(const checkpoint::Checkpoint& checkpoint, const std::string& source) {
  const auto found = checkpoint.extras.find("resumed_after_epochs");
  if (found == checkpoint.extras.end()) return {};
  std::vector<int64_t> out;
  const auto bad = [&] {
    return std::runtime_error(source + ": 'resumed_after_epochs' is not a list of integers; the file is damaged");
  };
  if (!found->second.isList()) throw bad();
  for (const auto& item : found->second.toListRef()) {
    if (!item.isInt()) throw bad();
    out.push_back(item.toInt());
  }
  return out;
}

}  // namespace mltk::train
