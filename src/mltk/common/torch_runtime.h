#pragma once
#include <optional>
#include <string>

namespace mltk {

// Sets LibTorch's intra-op thread count (it can default to 1): `threads` when given, else
// OMP_NUM_THREADS when set, else every core. Keeps freed tensor memory in the process
// (keep_freed_tensor_memory). Warns once when matrix products run on the reference BLAS, which
// makes Linear and attention layers tens of times slower. Logs (debug) which OpenBLAS kernels run
// (openblas_kernel.h).
void configure_torch_runtime(std::optional<int> threads = std::nullopt);

// glibc's malloc serves blocks above its mmap threshold (128 KiB, raised only as such blocks are
// freed) with fresh mappings and returns them to the kernel when freed, and trims the heap's free
// top beyond twice that threshold; a forward pass then faults in and zeroes new pages for its
// activations on every call. This fixes the thresholds at 32 MiB (glibc's largest mmap threshold)
// and 64 MiB, so activation buffers are reused from the heap. Process-wide; idempotent.
void keep_freed_tensor_memory();

// Path of the shared library providing sgemm_ (resolved through symlinks), or empty when unknown.
std::string blas_library_path();
bool is_reference_blas(const std::string& library_path);

}  // namespace mltk
