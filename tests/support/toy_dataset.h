#pragma once
// Small generated image datasets and tool runners for the training and inference tests.
#include "mltk/common/subprocess.h"

#include <string>
#include <vector>

namespace mltk::testkit {

// Writes <data_dir>/<name>/raw/{circles,squares}/NNN.png: reddish filled squares and bluish filled
// circles of random size and position on a noisy grey background, `side` pixels square, then splits
// them into <data_dir>/<name>/splits (num_folds folds, 20% test). Easy to separate on purpose: a
// model that learns anything at all gets them right.
void write_shapes_dataset(const std::string& data_dir, const std::string& name, int per_class, int side, int num_folds);

// A training configuration for that dataset: tiny_net (or `architecture`) at `side` pixels, six
// epochs, with `optimization` as its optimizer and scheduler sections.
inline constexpr const char* kAdamNoSchedule = "optimizer:\n  name: adam\n  lr: 0.002\nscheduler:\n  name: none\n";
std::string shapes_config(const std::string& data_dir, const std::string& name, int side,
                          const std::string& architecture = "tiny_net", const std::string& optimization = kAdamNoSchedule);

// Runs build/bin/<tool> with `args`.
ProcessResult run_tool(const std::string& tool, std::vector<std::string> args);

}  // namespace mltk::testkit
