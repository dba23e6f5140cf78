#pragma once
// Which of OpenBLAS's kernel sets runs LibTorch's matrix products (Linear layers, attention).
//
// OpenBLAS, built for several CPUs at once as Debian builds it, picks its kernels from the
// processor's family and model numbers. On a processor newer than the OpenBLAS release (Debian 12
// ships 0.3.21) it falls back to its oldest x86-64 kernels (Prescott, SSE3), AVX-512 or not, and a
// matrix product runs at a quarter of the speed the CPU is capable of, or less. So, before main()
// and before anything has called BLAS, every program that links this file in
// (configure_torch_runtime uses it, so every tool and every program calling that does) compares
// OpenBLAS's choice with the kernel set the CPU's instruction sets call for and, where they differ,
// has OpenBLAS choose again with that kernel set named in OPENBLAS_CORETYPE (its own setting), then
// removes the variable so that child processes see the user's environment. An OPENBLAS_CORETYPE the
// user set is left alone, as is a BLAS other than OpenBLAS.
#include <string>

namespace mltk {

struct CpuFeatures {
  bool intel = false;
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512dq = false, avx512cd = false, avx512bw = false, avx512vl = false;
  bool avx512bf16 = false;
};

CpuFeatures this_cpu_features();

// OpenBLAS's name for the fastest kernel set `cpu` runs ("Cooperlake", "SkylakeX", "Haswell"), or
// "" where OpenBLAS's own detection is left to choose (CPUs without AVX2, and AMD's, which it
// recognises by family).
const char* openblas_coretype_for(const CpuFeatures& cpu);

// The kernel set the loaded OpenBLAS runs (its openblas_get_corename()), or "" when LibTorch's BLAS
// is not OpenBLAS.
std::string openblas_core_name();

// Whether the loaded OpenBLAS runs the kernel set `coretype` (OpenBLAS's names, in any case).
bool openblas_runs(const char* coretype);

// Whether this process had OpenBLAS switch to the kernel set chosen for the CPU at start-up (false
// when OpenBLAS's own choice was that set, when the user set OPENBLAS_CORETYPE, and when the CPU is
// left to OpenBLAS).
bool openblas_kernels_switched_at_startup();

}  // namespace mltk
