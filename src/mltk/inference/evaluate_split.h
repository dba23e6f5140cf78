#pragma once
// ml-inference's evaluation of a split index file (by default the dataset's test.txt).
#include "mltk/config/config.h"
#include "mltk/inference/report.h"
#include "mltk/pipeline/predict.h"
#include "mltk/runtime/onnx_runner.h"

#include <string>
#include <vector>

namespace mltk::inference {

struct SplitEvaluation {
  std::string split_file;
  std::vector<data::Sample> samples;  // what predictions.sample_indices point into
  pipeline::Predictions predictions;
  ClassificationReport report;
};

// Classifies every image listed in `split_file` (paths relative to the dataset's raw folder) with
// the evaluation transform of `config`; images that cannot be decoded are skipped with a warning.
SplitEvaluation evaluate_split(const pipeline::ForwardFn& forward, const config::Config& config, const std::string& split_file,
                               const std::vector<std::string>& class_names, int64_t batch_size);

// A forward function over an ONNX runner. It feeds one image at a time, which works whether or
// not the exported graph has a dynamic batch dimension.
pipeline::ForwardFn onnx_forward(runtime::OnnxRunner& runner);

}  // namespace mltk::inference
