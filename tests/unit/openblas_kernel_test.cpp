#include "mltk/common/openblas_kernel.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace {

constexpr const char* kCoretype = "OPENBLAS_CORETYPE";

mltk::CpuFeatures with_avx512(bool bf16) {
  mltk::CpuFeatures cpu;
  cpu.intel = cpu.avx2 = cpu.fma = true;
  cpu.avx512f = cpu.avx512dq = cpu.avx512cd = cpu.avx512bw = cpu.avx512vl = true;
  cpu.avx512bf16 = bf16;
  return cpu;
}

TEST(OpenBlasKernel, ChoosesTheKernelSetOfTheCpusInstructionSets) {
  EXPECT_STREQ(mltk::openblas_coretype_for(with_avx512(false)), "SkylakeX");
  EXPECT_STREQ(mltk::openblas_coretype_for(with_avx512(true)), "Cooperlake");
  // Xeon Phi has AVX-512F and CD but neither BW nor VL, which OpenBLAS's SkylakeX kernels use.
  auto phi = with_avx512(false);
  phi.avx512bw = phi.avx512vl = phi.avx512dq = false;
  EXPECT_STREQ(mltk::openblas_coretype_for(phi), "Haswell");
  auto amd = with_avx512(false);
  amd.intel = false;
  EXPECT_STREQ(mltk::openblas_coretype_for(amd), "SkylakeX");
  amd.avx512f = false;  // AMD without AVX-512: OpenBLAS recognises its Zen cores by family itself
  EXPECT_STREQ(mltk::openblas_coretype_for(amd), "");
  mltk::CpuFeatures sse_only;
  sse_only.intel = true;
  EXPECT_STREQ(mltk::openblas_coretype_for(sse_only), "");
}

// Each test starts the test binary again (a death test re-executes it) with OPENBLAS_CORETYPE set
// or unset as it needs, and puts the variable back as it was afterwards.
class OpenBlasKernelDeathTest : public testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    if (const char* value = std::getenv(kCoretype)) saved_ = value;
    if (mltk::openblas_core_name().empty()) GTEST_SKIP() << "LibTorch's BLAS is not OpenBLAS";
  }
  void TearDown() override {
    if (saved_) setenv(kCoretype, saved_->c_str(), 1);
    else unsetenv(kCoretype);
  }
  std::optional<std::string> saved_;
};

TEST_F(OpenBlasKernelDeathTest, OpenBlasRunsTheKernelsChosenForThisCpu) {
  const std::string expected = mltk::openblas_coretype_for(mltk::this_cpu_features());
  if (expected.empty()) GTEST_SKIP() << "this CPU's kernels are left to OpenBLAS's own detection";
  unsetenv(kCoretype);
  EXPECT_EXIT(
      {
        const std::string core = mltk::openblas_core_name();
        std::fprintf(stderr, "OpenBLAS reports %s\n", core.c_str());
        // On a CPU that OpenBLAS does not know it had chosen Prescott; the variable through which it
        // chose again is gone for child processes.
        std::exit(mltk::openblas_runs(expected.c_str()) && std::getenv(kCoretype) == nullptr ? 0 : 1);
      },
      testing::ExitedWithCode(0), "OpenBLAS reports");
}

TEST_F(OpenBlasKernelDeathTest, AKernelSetTheUserChoseIsKept) {
  // Prescott's SSE3 kernels run on every x86-64 CPU, and no CPU with AVX2 gets them chosen for it.
  setenv(kCoretype, "Prescott", 1);
  EXPECT_EXIT(
      {
        const std::string core = mltk::openblas_core_name();
        const char* variable = std::getenv(kCoretype);
        std::fprintf(stderr, "OpenBLAS reports %s\n", core.c_str());
        std::exit(mltk::openblas_runs("Prescott") && !mltk::openblas_kernels_switched_at_startup() && variable &&
                          std::string(variable) == "Prescott"
                      ? 0
                      : 1);
      },
      testing::ExitedWithCode(0), "OpenBLAS reports");
}

}  // namespace
