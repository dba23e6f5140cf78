#pragma once
// Building a model whose every weight a checkpoint then overwrites need not draw random initial
// values: for vgg16 those are passes of a serial random generator over 138 million weights, most
// of the time it takes to load one.
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace mltk::models {

// While alive, models built on this thread keep their parameters as allocated (uninitialised):
// the random fills behind torch::nn::init, the LibTorch modules' own reset_parameters and
// trunc_normal_ do nothing. Use it only around building a model that then loads a complete state
// dict strictly, so that no uninitialised value survives. Deterministic fills (zeros, ones) and
// buffers are unaffected.
class SkipInitialisation {
 public:
  SkipInitialisation();
  ~SkipInitialisation();
  SkipInitialisation(const SkipInitialisation&) = delete;
  SkipInitialisation& operator=(const SkipInitialisation&) = delete;

 private:
  // Routes tensor operations through a dispatch key whose random-fill kernels leave tensors as
  // they are (every other operation falls through to its usual kernel).
  c10::impl::IncludeDispatchKeyGuard dispatch_;
  bool was_skipping_;
};

// Whether a SkipInitialisation guard is alive on this thread (for initialisers that do more than
// one random fill, such as trunc_normal_).
bool initialisation_skipped();

}  // namespace mltk::models
