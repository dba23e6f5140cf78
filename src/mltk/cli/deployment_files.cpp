#include "mltk/cli/deployment_files.h"

#include "mltk/common/tools_folder.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>

namespace mltk::cli {
namespace {

namespace fs = std::filesystem;

#ifdef MLTK_SOURCE_TOOLS_DIR
const std::string kSourceTools = MLTK_SOURCE_TOOLS_DIR;
#else
const std::string kSourceTools;
#endif

std::string in_source_tree(const std::string& name) { return kSourceTools.empty() ? "" : kSourceTools + "/" + name; }

void require_file(const fs::path& file, const std::string& what, const char* env_var) {
  if (fs::is_regular_file(file)) return;
  throw std::runtime_error(what + " " + file.string() + " is missing: run scripts/setup.sh from the mltk source tree "
                           "(it installs the npm packages the deployment copies), or set " + env_var +
                           " to the folder holding it");
}

}  // namespace

const std::vector<std::string>& ort_web_runtime_files() {
  static const std::vector<std::string> files = {"ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs",
                                                 "ort-wasm-simd-threaded.wasm"};
  return files;
}

const std::vector<TemplateFile>& deployment_templates() {
  static const std::vector<TemplateFile> files = {
      {"web/index.html", "web/index.html"},         {"web/app.mjs", "web/app.mjs"},
      {"preprocess.mjs", "web/preprocess.mjs"},     {"node/classify.mjs", "node/classify.mjs"},
      {"preprocess.mjs", "node/preprocess.mjs"},    {"node/package.json", "node/package.json"},
      {"node/package-lock.json", "node/package-lock.json"},
  };
  return files;
}

DeploymentSources locate_deployment_sources() {
  DeploymentSources sources;
  sources.templates = locate_tools_folder("MLTK_DEPLOY_DIR", in_source_tree("deploy"), "deploy", "preprocess.mjs");
  for (const auto& file : deployment_templates())
    require_file(sources.templates / file.source, "The deployment template", "MLTK_DEPLOY_DIR");

  const fs::path browser = locate_tools_folder("MLTK_BROWSER_DIR", in_source_tree("browser"), "browser",
                                               "node_modules/onnxruntime-web/package.json");
  const fs::path package = browser / "node_modules" / "onnxruntime-web";
  require_file(package / "package.json", "onnxruntime-web's", "MLTK_BROWSER_DIR");
  sources.ort_web_dist = package / "dist";
  for (const auto& file : ort_web_runtime_files())
    require_file(sources.ort_web_dist / file, "The onnxruntime-web runtime file", "MLTK_BROWSER_DIR");
  try {
    sources.ort_web_version = nlohmann::json::parse(std::ifstream(package / "package.json")).at("version").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error((package / "package.json").string() + " gives no version (" + e.what() +
                             "): reinstall it with scripts/setup.sh");
  }
  return sources;
}

}  // namespace mltk::cli
