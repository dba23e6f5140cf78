#pragma once
// ml-export --deploy_dir: a checkpoint turned into a folder that serves as it is: the validated model
// with embedded preprocessing, model.json, a model card, a static web app and a Node example.
#include "mltk/cli/export_checkpoint.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mltk::cli {

struct DeployRequest {
  std::string checkpoint_path;
  std::filesystem::path dir;
  bool overwrite = false;
  bool detailed = true;  // as CheckpointJob::detailed
};

// Throws naming `dir` unless it can become the deployment folder: absent or an empty folder (any
// folder with `overwrite`), in an existing folder.
void check_deploy_dir(const std::filesystem::path& dir, bool overwrite);

// Exports the checkpoint with embedded preprocessing and a symbolic batch dimension, validates it
// with `settings`, and writes the folder's files into a temporary sibling of request.dir, which is
// renamed to request.dir only when everything is written (replacing the old folder with
// `overwrite`). Returns the validation (nothing when it is off). Throws, leaving request.dir as it
// was and no temporary folder behind, when anything fails, including a FAIL verdict.
std::optional<validate::ExportValidation> deploy_checkpoint(const DeployRequest& request, const ExportSettings& settings);

// The sub-folders of a --pattern deployment, one per checkpoint: the run's name (the folder above
// weights/, else the checkpoint's folder), followed by _<checkpoint stem> when several checkpoints
// come from one run.
std::vector<std::string> deployment_names(const std::vector<std::string>& checkpoint_paths);

}  // namespace mltk::cli
