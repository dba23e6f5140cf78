#pragma once
#include <optional>
#include <string>

namespace mltk {

// Sets LibTorch's intra-op thread count (it can default to 1): `threads` when given, else
// OMP_NUM_THREADS when set, else every core. Warns once when matrix products run on the reference
// BLAS, which makes Linear and attention layers tens of times slower.
void configure_torch_runtime(std::optional<int> threads = std::nullopt);

// Path of the shared library providing sgemm_ (resolved through symlinks), or empty when unknown.
std::string blas_library_path();
bool is_reference_blas(const std::string& library_path);

}  // namespace mltk
