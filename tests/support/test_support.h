#pragma once
// Helpers shared by the tests: running the Python oracle.
#include "mltk/common/subprocess.h"

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

// True when running under CI (CI=true), where a missing oracle is a failure, not a skip.
bool running_in_ci();

}  // namespace mltk::testkit

// Skips the current test when the oracle interpreter is missing, except in CI where it fails.
#define MLTK_REQUIRE_ORACLE()                                                                   \
  do {                                                                                          \
    if (!::mltk::testkit::oracle_available()) {                                                 \
      if (::mltk::testkit::running_in_ci()) FAIL() << "oracle Python with torch/torchvision missing"; \
      GTEST_SKIP() << "oracle Python with torch/torchvision not available";                     \
    }                                                                                           \
  } while (0)
