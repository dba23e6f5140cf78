#include "mltk/common/torch_runtime.h"

#include "mltk/common/logging.h"
#include "mltk/common/openblas_kernel.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>

#include <climits>
#include <cstdlib>
#include <thread>

namespace mltk {

std::string blas_library_path() {
  void* symbol = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (!symbol || dladdr(symbol, &info) == 0 || !info.dli_fname) return "";
  char resolved[PATH_MAX];
  return realpath(info.dli_fname, resolved) ? std::string(resolved) : std::string(info.dli_fname);
}

bool is_reference_blas(const std::string& library_path) {
  for (const char* optimised : {"openblas", "blis", "mkl", "atlas"})
    if (library_path.find(optimised) != std::string::npos) return false;
  return library_path.find("libblas") != std::string::npos;
}

void keep_freed_tensor_memory() {
  constexpr int kMmapThreshold = 32 << 20, kTrimThreshold = 64 << 20;
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
}

void configure_torch_runtime(std::optional<int> threads) {
  keep_freed_tensor_memory();
  int count = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0) count = std::atoi(env);
  if (threads && *threads > 0) count = *threads;
  at::set_num_threads(std::max(count, 1));
  static bool warned = false;
  const std::string blas = blas_library_path();
  if (!warned && is_reference_blas(blas)) {
    warned = true;
    log::warning("LibTorch is using the reference BLAS ({}); Linear and attention layers will be very slow. "
                 "Install OpenBLAS: sudo apt-get install libopenblas0-openmp",
                 blas);
  }
  if (const std::string core = openblas_core_name(); !core.empty())
    log::debug("OpenBLAS runs its {} kernels{}", core,
               openblas_kernels_switched_at_startup()
                   ? ", chosen from the CPU's instruction sets in place of OpenBLAS's own choice"
                   : "");
}

}  // namespace mltk
