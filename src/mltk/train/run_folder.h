#pragma once
// The folder a training run writes into: runs/<dataset>_<model.type>_fold_<k>/ with weights/,
// config.yaml, train.log, metrics.csv and metrics.json.
#include "mltk/config/config.h"

#include <optional>
#include <string>

namespace mltk::train {

enum class ExistingRun { refuse, resume, overwrite };

struct RunFolder {
  std::string root;
  std::string weights_dir() const { return root + "/weights"; }
  std::string best_checkpoint() const { return weights_dir() + "/best.pt"; }
  std::string last_checkpoint() const { return weights_dir() + "/last.pt"; }
  std::string config_file() const { return root + "/config.yaml"; }
  std::string log_file() const { return root + "/train.log"; }
  std::string metrics_csv() const { return root + "/metrics.csv"; }
  std::string metrics_json() const { return root + "/metrics.json"; }
};

// The run folder a checkpoint belongs to: the parent of its folder when that folder is named weights
// (runs/<run>/weights/best.pt); nullopt for a checkpoint anywhere else.
std::optional<RunFolder> run_folder_of_checkpoint(const std::string& checkpoint_path);

// <runs_dir>/<dataset_name>_<model.type>_fold_<fold>.
std::string run_folder_path(const config::Config& config, const std::string& runs_dir);

// Prepares the folder. An existing one is never overwritten silently: `refuse` throws saying to
// pass --resume or --overwrite; `overwrite` deletes it first; `resume` requires weights/last.pt.
RunFolder prepare_run_folder(const std::string& path, ExistingRun policy);

}  // namespace mltk::train
