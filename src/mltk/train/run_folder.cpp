#include "mltk/train/run_folder.h"

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace mltk::train {

std::optional<RunFolder> run_folder_of_checkpoint(const std::string& checkpoint_path) {
  const std::filesystem::path folder = std::filesystem::absolute(checkpoint_path).parent_path();
  if (folder.filename() != "weights") return std::nullopt;
  return RunFolder{folder.parent_path().string()};
}

std::string run_folder_path(const config::Config& config, const std::string& runs_dir) {
  if (!config.data.dataset_name)
    throw std::runtime_error(config.source + ": data.dataset_name is required for training");
  return (fs::path(runs_dir) /
          (*config.data.dataset_name + "_" + config.model.type + "_fold_" + std::to_string(config.data.fold)))
      .string();
}

RunFolder prepare_run_folder(const std::string& path, ExistingRun policy) {
  RunFolder folder{path};
  const bool exists = fs::exists(path);
  if (policy == ExistingRun::resume) {
    if (!fs::is_regular_file(folder.last_checkpoint()))
      throw std::runtime_error("--resume: " + folder.last_checkpoint() + " does not exist; start a new run without --resume");
  } else if (exists) {
    if (policy == ExistingRun::refuse)
      throw std::runtime_error("run folder " + path +
                               " already exists; pass --resume to continue it from weights/last.pt, --overwrite to "
                               "replace it, or --runs_dir to write elsewhere");
    fs::remove_all(path);
  }
  fs::create_directories(folder.weights_dir());
  return folder;
}

}  // namespace mltk::train
