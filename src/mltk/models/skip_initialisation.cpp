#include "mltk/models/skip_initialisation.h"

#include <torch/library.h>

namespace mltk::models {
namespace {

thread_local bool skipping = false;

at::Tensor& keep_uniform(at::Tensor& self, double, double, c10::optional<at::Generator>) { return self; }
at::Tensor& keep_normal(at::Tensor& self, double, double, c10::optional<at::Generator>) { return self; }

}  // namespace

// DeferredInit is the dispatch key LibTorch reserves for deferred module initialisation (it has
// no kernels of its own); it sits above autograd, so these kernels run before any other.
TORCH_LIBRARY_IMPL(_, DeferredInit, m) { m.fallback(torch::CppFunction::makeFallthrough()); }

TORCH_LIBRARY_IMPL(aten, DeferredInit, m) {
  m.impl("uniform_", TORCH_FN(keep_uniform));
  m.impl("normal_", TORCH_FN(keep_normal));
}

SkipInitialisation::SkipInitialisation() : dispatch_(c10::DispatchKey::DeferredInit), was_skipping_(skipping) {
  skipping = true;
}

SkipInitialisation::~SkipInitialisation() { skipping = was_skipping_; }

bool initialisation_skipped() { return skipping; }

}  // namespace mltk::models
