#include "mltk/common/openblas_kernel.h"

#include <dlfcn.h>
#include <strings.h>

#include <cstdlib>

namespace mltk {

namespace {

constexpr const char* kCoretypeVariable = "OPENBLAS_CORETYPE";

bool kernels_switched_at_startup = false;

// A program's own initialisers run after those of the shared libraries it loads (OpenBLAS has
// chosen its kernels by then) and before main(), so before any matrix product.
__attribute__((constructor)) void switch_to_the_cpus_openblas_kernels() {
  if (std::getenv(kCoretypeVariable) != nullptr) return;  // the user's choice, which OpenBLAS applied
  const char* wanted = openblas_coretype_for(this_cpu_features());
  if (*wanted == '\0' || openblas_core_name().empty() || openblas_runs(wanted)) return;
  // OpenBLAS's own start-up pair, exported by its multi-CPU builds: forget the kernel set, then
  // choose again, reading OPENBLAS_CORETYPE.
  using Step = void (*)();
  const auto forget = reinterpret_cast<Step>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  const auto choose = reinterpret_cast<Step>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (forget == nullptr || choose == nullptr || setenv(kCoretypeVariable, wanted, /*overwrite=*/0) != 0) return;
  forget();
  choose();
  unsetenv(kCoretypeVariable);
  kernels_switched_at_startup = openblas_runs(wanted);
}

}  // namespace

CpuFeatures this_cpu_features() {
  __builtin_cpu_init();  // libgcc's own initialiser may not have run yet
  CpuFeatures cpu;
  cpu.intel = __builtin_cpu_is("intel");
  cpu.avx2 = __builtin_cpu_supports("avx2");
  cpu.fma = __builtin_cpu_supports("fma");
  cpu.avx512f = __builtin_cpu_supports("avx512f");
  cpu.avx512dq = __builtin_cpu_supports("avx512dq");
  cpu.avx512cd = __builtin_cpu_supports("avx512cd");
  cpu.avx512bw = __builtin_cpu_supports("avx512bw");
  cpu.avx512vl = __builtin_cpu_supports("avx512vl");
  cpu.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  return cpu;
}

const char* openblas_coretype_for(const CpuFeatures& cpu) {
  // The instruction sets OpenBLAS's own detection requires of each kernel set.
  if (cpu.avx512f && cpu.avx512dq && cpu.avx512cd && cpu.avx512bw && cpu.avx512vl)
    return cpu.avx512bf16 ? "Cooperlake" : "SkylakeX";
  if (cpu.intel && cpu.avx2 && cpu.fma) return "Haswell";
  return "";
}

std::string openblas_core_name() {
  using CoreName = const char* (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = core_name ? core_name() : nullptr;
  return name ? name : "";
}

bool openblas_runs(const char* coretype) { return strcasecmp(openblas_core_name().c_str(), coretype) == 0; }

bool openblas_kernels_switched_at_startup() { return kernels_switched_at_startup; }

}  // namespace mltk
