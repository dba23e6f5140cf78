#include "support/test_support.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mltk::testkit {

std::string oracle_python() {
  const char* env = std::getenv("MLTK_ORACLE_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

bool oracle_available() {
  static const bool available = [] {
    try {
      return run_process({oracle_python(), "-c", "import torch, torchvision"}).exit_code == 0;
    } catch (const std::exception&) {
      return false;  // interpreter not installed
    }
  }();
  return available;
}

std::string oracle_script(const std::string& name) { return std::string(MLTK_SOURCE_DIR) + "/tests/oracle/" + name; }

std::string run_oracle(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {oracle_python(), oracle_script(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult result = run_process(argv);
  if (result.exit_code != 0)
    throw std::runtime_error(script + " failed (exit " + std::to_string(result.exit_code) + "):\n" + result.out +
                             result.err);
  return result.out;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

std::string onnxruntime_tools_dir() { return std::string(MLTK_SOURCE_DIR) + "/tools/ort"; }

bool onnxruntime_installed() {
  return std::filesystem::exists(std::filesystem::path(onnxruntime_tools_dir()) / "node_modules" / "onnxruntime-node");
}

std::string browser_tools_dir() { return std::string(MLTK_SOURCE_DIR) + "/tools/browser"; }

bool browser_installed() {
  const char* chromium = std::getenv("MLTK_CHROMIUM");
  return std::filesystem::exists(std::filesystem::path(browser_tools_dir()) / "node_modules" / "puppeteer-core") &&
         std::filesystem::exists(chromium != nullptr ? chromium : "/usr/bin/chromium");
}

}  // namespace mltk::testkit
