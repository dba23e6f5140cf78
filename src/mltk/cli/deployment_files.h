#pragma once
// What ml-export --deploy_dir copies besides the model: the web and Node templates of tools/deploy
// and the onnxruntime-web runtime files that scripts/setup.sh installs into tools/browser.
#include <filesystem>
#include <string>
#include <vector>

namespace mltk::cli {

struct DeploymentSources {
  std::filesystem::path templates;     // tools/deploy
  std::filesystem::path ort_web_dist;  // onnxruntime-web's dist folder
  std::string ort_web_version;         // from its package.json
};

// The onnxruntime-web files a page needs for the WebAssembly backend: the module it imports, and the
// module and binary that module loads (one build serves both single-threaded and threaded runs).
const std::vector<std::string>& ort_web_runtime_files();

// Template files, relative to tools/deploy, and where each goes in the deployment folder.
struct TemplateFile {
  std::string source, destination;
};
const std::vector<TemplateFile>& deployment_templates();

// Finds tools/deploy ($MLTK_DEPLOY_DIR, else the source tree's, else beside the executable) and
// tools/browser ($MLTK_BROWSER_DIR, likewise), and checks that every file to copy is there. Throws
// std::runtime_error naming the missing file and scripts/setup.sh, which installs them.
DeploymentSources locate_deployment_sources();

}  // namespace mltk::cli
