#pragma once
// What the ml-export tests share: small checkpoints to export and running the built tool.
#include "mltk/common/subprocess.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mltk::testkit {

// Input size of the checkpoints save_model_checkpoint writes: small, so that exports are quick.
constexpr int64_t kExportInputSize = 32;

// Writes dir/name: a freshly initialised (seeded) custom `architecture` with three classes
// (ants, bees, wasps) at kExportInputSize, as ml-train would save it.
std::string save_model_checkpoint(const TempDir& dir, const std::string& name, const std::string& architecture);

struct CliRun {
  int exit_code = 0;
  std::string log;  // stdout followed by stderr, where the log lines go
};

// Runs the built ml-export with `args`.
CliRun ml_export(const std::vector<std::string>& args);

}  // namespace mltk::testkit
