#include "mltk/train/run_state.h"

#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>

namespace mltk::train {

namespace {

const char* state_name(const RunStatus& status) {
  if (!status.finished) return "training";
  switch (status.outcome) {
    case TrainOutcome::early_stopped: return "early_stopped";
    case TrainOutcome::interrupted: return "interrupted";
    case TrainOutcome::completed: break;
  }
  return "completed";
}

bool is_state_name(const std::string& name) {
  return name == "training" || name == "completed" || name == "early_stopped" || name == "interrupted";
}

}  // namespace

RunState run_state(const RunStatus& status) {
  RunState state;
  state.state = state_name(status);
  state.epochs_done = last_epoch(status.history);
  state.planned_epochs = status.config.training.num_epochs;
  if (status.test) {
    state.test_accuracy = status.test->predictions.accuracy();
    state.test_images = static_cast<int64_t>(status.test->predictions.labels.size());
    state.test_checkpoint_epoch = status.test->checkpoint_epoch;
  }
  return state;
}

std::string run_state_path(const RunFolder& folder) { return folder.root + "/run_state.json"; }

void write_run_state(const RunStatus& status) {
  const RunState state = run_state(status);
  nlohmann::json json = {{"state", state.state},
                         {"epochs_done", state.epochs_done},
                         {"planned_epochs", state.planned_epochs},
                         {"test_accuracy", nullptr}};
  if (state.test_accuracy) {
    json["test_accuracy"] = *state.test_accuracy;
    json["test_images"] = state.test_images;
    json["test_checkpoint_epoch"] = state.test_checkpoint_epoch;
  }
  write_file_atomically(run_state_path(status.folder), json.dump(2) + "\n");
}

std::optional<RunState> read_run_state(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    const auto json = nlohmann::json::parse(read_file(path));
    RunState state;
    state.state = json.at("state").get<std::string>();
    if (!is_state_name(state.state)) throw std::runtime_error("unknown state \"" + state.state + "\"");
    state.epochs_done = json.at("epochs_done").get<int>();
    state.planned_epochs = json.at("planned_epochs").get<int>();
    if (!json.at("test_accuracy").is_null()) {
      state.test_accuracy = json.at("test_accuracy").get<double>();
      state.test_images = json.at("test_images").get<int64_t>();
      state.test_checkpoint_epoch = json.at("test_checkpoint_epoch").get<int64_t>();
    }
    return state;
  } catch (const std::exception& error) {
    throw std::runtime_error(path + " is damaged (" + error.what() + "); ml-train rewrites it after the next epoch");
  }
}

}  // namespace mltk::train
