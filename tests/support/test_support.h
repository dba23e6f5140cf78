#pragma once
// Helpers shared by the tests: running the Python oracle, finding ONNX Runtime (tools/ort).
#include "mltk/common/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mltk::testkit {

// The interpreter with Debian's torch and torchvision (MLTK_ORACLE_PYTHON overrides it).
std::string oracle_python();
// True when the oracle interpreter can import torch and torchvision.
bool oracle_available();
// Path of a script in tests/oracle/.
std::string oracle_script(const std::string& name);
// Runs an oracle script and throws with its output when it fails.
std::string run_oracle(const std::string& script, const std::vector<std::string>& args);

// Parses the JSON file at `path` (a report written by a tool); throws when it is not JSON.
inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// True when running under CI (CI=true), where a missing oracle is a failure, not a skip.
bool running_in_ci();

// The source tree's tools/ort, where OnnxRuntimeNode finds run_model.js.
std::string onnxruntime_tools_dir();
// True when onnxruntime-node is installed there (`npm ci` has been run).
bool onnxruntime_installed();

// The source tree's tools/browser (puppeteer-core, uPlot and the page inspection scripts).
std::string browser_tools_dir();
// True when puppeteer-core is installed there and Debian's chromium (or $MLTK_CHROMIUM) exists.
bool browser_installed();

// The message of the `Exception` that `action` throws; records a test failure when it throws none.
template <typename Exception = std::runtime_error>
std::string message_of_throw(const std::function<void()>& action) {
  try {
    action();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

}  // namespace mltk::testkit

// Skips the current test when the oracle interpreter is missing, except in CI where it fails.
#define MLTK_REQUIRE_ORACLE()                                                                   \
  do {                                                                                          \
    if (!::mltk::testkit::oracle_available()) {                                                 \
      if (::mltk::testkit::running_in_ci()) FAIL() << "oracle Python with torch/torchvision missing"; \
      GTEST_SKIP() << "oracle Python with torch/torchvision not available";                     \
    }                                                                                           \
  } while (0)

// Skips the current test when onnxruntime-node is not installed in tools/ort, except in CI, which
// must have installed it, where it fails.
#define MLTK_REQUIRE_ONNXRUNTIME()                                                                  \
  do {                                                                                              \
    if (!::mltk::testkit::onnxruntime_installed()) {                                                \
      const std::string mltk_ort_hint = "onnxruntime-node is not installed; run `cd " +             \
                                        ::mltk::testkit::onnxruntime_tools_dir() +                  \
                                        " && ONNXRUNTIME_NODE_INSTALL=skip npm ci`";                \
      if (::mltk::testkit::running_in_ci()) FAIL() << mltk_ort_hint;                                \
      GTEST_SKIP() << mltk_ort_hint;                                                                \
    }                                                                                               \
  } while (0)

// Skips the current test when puppeteer-core or chromium is missing, except in CI, where it fails.
#define MLTK_REQUIRE_BROWSER()                                                                             \
  do {                                                                                                     \
    if (!::mltk::testkit::browser_installed()) {                                                           \
      const char* mltk_browser_hint = "puppeteer-core or chromium missing; run scripts/setup.sh";          \
      if (::mltk::testkit::running_in_ci()) FAIL() << mltk_browser_hint;                                   \
      GTEST_SKIP() << mltk_browser_hint;                                                                   \
    }                                                                                                      \
  } while (0)
