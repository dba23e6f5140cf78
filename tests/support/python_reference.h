#pragma once
// A zoo architecture as Python builds it (tests/oracle/reference_model.py forward): torchvision's
// or the Python custom model, seeded, with one input batch and its eval-mode output.
#include "mltk/checkpoint/state_dict.h"

#include <torch/types.h>

#include <string>

namespace mltk::testkit {

struct PythonReference {
  std::string file;  // where Python saved it, for messages
  checkpoint::StateDict state_dict;
  torch::Tensor input, output;
};

// Runs the oracle for `architecture` (2 classes) and reads what it saved into `folder`.
PythonReference python_reference(const std::string& architecture, const std::string& folder);

// Largest absolute difference of `output` from the reference output allowed: 1e-4, scaled up for
// outputs beyond 1 in magnitude, since deep randomly initialised networks (resnet152 reaches ~1e8)
// produce values whose float32 spacing alone exceeds 1e-4.
double output_tolerance(const PythonReference& reference);

}  // namespace mltk::testkit
