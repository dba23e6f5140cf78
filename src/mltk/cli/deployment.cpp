#include "mltk/cli/deployment.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/cli/deployment_files.h"
#include "mltk/cli/model_card.h"
#include "mltk/cli/quantize_export.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/logging.h"
#include "mltk/common/sha256.h"
#include "mltk/inference/loaded_model.h"
#include "mltk/inference/report.h"
#include "mltk/report/validation_page.h"
#include "mltk/train/run_folder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

namespace mltk::cli {
namespace {

namespace fs = std::filesystem;

// A hidden sibling of the deployment folder, removed on destruction unless released.
class StagingFolder {
 public:
  // mkdir(2) with mode 0777 lets the kernel apply the umask, so a folder to be served gets what any
  // new folder gets, without umask() calls that would race with other threads creating files.
  explicit StagingFolder(const fs::path& dir) {
    const std::string stem = (dir.parent_path() / ("." + dir.filename().string() + ".deploy-")).string() +
                             std::to_string(::getpid()) + "-";
    for (int attempt = 0;; ++attempt) {
      const std::string candidate = stem + std::to_string(attempt);
      if (::mkdir(candidate.c_str(), 0777) == 0) {
        path_ = candidate;
        return;
      }
      if (errno != EEXIST)
        throw std::runtime_error("Cannot write the deployment folder " + dir.string() + ": creating a folder in " +
                                 dir.parent_path().string() + " failed: " + std::strerror(errno));
    }
  }
  ~StagingFolder() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const fs::path& path() const { return path_; }
  // Moves the finished folder to `dir`, replacing what is there; the old folder is removed after.
  void install_as(const fs::path& dir) {
    if (!fs::exists(dir)) {
      fs::rename(path_, dir);
      path_.clear();
      return;
    }
    // rename(2) replaces only empty folders, so the old one first moves aside (onto an empty
    // sibling) and comes back if the new one cannot take its place.
    StagingFolder previous(dir);
    fs::rename(dir, previous.path_);
    try {
      fs::rename(path_, dir);
    } catch (...) {
      fs::rename(previous.path_, dir);
      previous.path_.clear();
      throw;
    }
    path_.clear();
  }

 private:
  fs::path path_;
};

void copy_into(const fs::path& source, const fs::path& destination) {
  fs::create_directories(destination.parent_path());
  fs::copy_file(source, destination, fs::copy_options::overwrite_existing);
}

std::string run_of(const fs::path& checkpoint) {
  if (const auto run = train::run_folder_of_checkpoint(checkpoint.string())) return fs::path(run->root).filename().string();
  return fs::absolute(checkpoint).parent_path().filename().string();
}

}  // namespace

void check_deploy_dir(const fs::path& dir, bool overwrite) {
  const fs::path parent = fs::absolute(dir).parent_path();
  if (!fs::is_directory(parent))
    throw std::runtime_error("--deploy_dir " + dir.string() + ": the folder " + parent.string() +
                             " that would hold it does not exist");
  if (!fs::exists(dir)) return;
  if (!fs::is_directory(dir))
    throw std::runtime_error("--deploy_dir " + dir.string() + " exists and is not a folder; choose another path");
  if (!overwrite && !fs::is_empty(dir))
    throw std::runtime_error("--deploy_dir " + dir.string() +
                             " already exists and is not empty; add --overwrite to replace it, or choose another folder");
}

std::optional<validate::ExportValidation> deploy_checkpoint(const DeployRequest& request, const ExportSettings& settings) {
  const fs::path dir = fs::absolute(request.dir).lexically_normal();
  check_deploy_dir(dir, request.overwrite);
  const DeploymentSources sources = locate_deployment_sources();
  StagingFolder staging(dir);

  ExportSettings deployed = settings;
  deployed.preprocessing = "embedded";
  deployed.dynamic_axes = true;
  const fs::path model_path = staging.path() / "model.onnx";
  const auto validation =
      run_checkpoint_job({request.checkpoint_path, model_path.string(), false, request.detailed}, deployed);
  if (validation && validation->status == validate::Status::Fail)
    throw std::runtime_error("The exported model failed validation, so " + dir.string() + " was not written");
  // model.json carries its verdict and metrics; the report and its page name the temporary folder.
  if (validation) fs::remove(validation->report_path);
  fs::remove(report::validation_page_path(model_path.string()));

  const auto checkpoint = checkpoint::load_checkpoint(request.checkpoint_path);
  DeploymentFacts facts;
  facts.checkpoint = &checkpoint;
  facts.checkpoint_path = request.checkpoint_path;
  facts.eval_resize = inference::checkpoint_config(checkpoint, request.checkpoint_path).resolved_eval_resize();
  facts.opset = settings.opset;
  facts.validation = validation ? &*validation : nullptr;
  facts.test_accuracy = inference::test_accuracy_beside(request.checkpoint_path);
  facts.model_sha256 = sha256_hex_of_file(model_path.string());
  facts.ort_web_version = sources.ort_web_version;
  facts.quantization = quantization_of(model_path.string());
  const auto model = model_json(facts);
  const std::string model_text = model.dump(2) + "\n";

  write_file_atomically((staging.path() / "model.json").string(), model_text);
  write_file_atomically((staging.path() / "README.md").string(), model_card(model));
  fs::create_directories(staging.path() / "web");
  write_file_atomically((staging.path() / "web" / "model.json").string(), model_text);
  copy_into(model_path, staging.path() / "web" / "model.onnx");
  for (const auto& file : ort_web_runtime_files()) copy_into(sources.ort_web_dist / file, staging.path() / "web" / file);
  for (const auto& file : deployment_templates())
    copy_into(sources.templates / file.source, staging.path() / file.destination);
  staging.install_as(dir);
  if (request.detailed) log::success("✓ Deployment folder written: {}", dir.string());
  return validation;
}

std::vector<std::string> deployment_names(const std::vector<std::string>& checkpoint_paths) {
  std::map<std::string, int> per_run;
  for (const auto& path : checkpoint_paths) ++per_run[run_of(path)];
  std::vector<std::string> names;
  for (const auto& path : checkpoint_paths) {
    const std::string run = run_of(path);
    names.push_back(per_run[run] > 1 ? run + "_" + fs::path(path).stem().string() : run);
  }
  return names;
}

}  // namespace mltk::cli
