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

// A training configuration for that dataset: tiny_net (or `architecture`) at `side` pixels.
std::string shapes_config(const std::string& data_dir, const std::string& name, int side,
                          const std::string& architecture = "tiny_net");

// Runs build/bin/<tool> with `args`.
ProcessResult run_tool(const std::string& tool, std::vector<std::string> args);

}  // namespace mltk::testkit
