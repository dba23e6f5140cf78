#include "mltk/common/torch_runtime.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace {

TEST(TorchRuntime, RecognisesReferenceAndOptimisedBlas) {
  EXPECT_TRUE(mltk::is_reference_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"));
  EXPECT_FALSE(mltk::is_reference_blas("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"));
  EXPECT_FALSE(mltk::is_reference_blas("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"));
  EXPECT_FALSE(mltk::is_reference_blas(""));
}

TEST(TorchRuntime, FindsTheBlasLibraryLibTorchUses) {
  const std::string path = mltk::blas_library_path();
  ASSERT_FALSE(path.empty());
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
  // Setup installs OpenBLAS and Debian's alternatives prefer it; the suite runs on what users get.
  EXPECT_FALSE(mltk::is_reference_blas(path)) << path;
}

TEST(TorchRuntime, SetsTheRequestedThreadCount) {
  mltk::configure_torch_runtime(1);
  EXPECT_EQ(at::get_num_threads(), 1);
  mltk::configure_torch_runtime(2);
  EXPECT_EQ(at::get_num_threads(), 2);
}

// Minor page faults of five forward passes of a small convolutional net (1.6 MB activations),
// after two passes that leave the allocator as it will stay.
long faults_of_forward_passes(torch::nn::Sequential& net, const torch::Tensor& input) {
  const auto minor_faults = [] {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
  };
  for (int i = 0; i < 2; ++i) net->forward(input);
  const long before = minor_faults();
  for (int i = 0; i < 5; ++i) net->forward(input);
  return minor_faults() - before;
}

// In a process of its own (the death test re-executes the test binary): in this one, free heap
// memory that earlier tests left behind would serve the activations whatever the thresholds.
TEST(TorchRuntimeDeathTest, ForwardPassesReuseFreedActivationMemory) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        torch::NoGradGuard no_grad;
        const auto conv = [] { return torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)); };
        torch::nn::Sequential net(conv(), torch::nn::ReLU(), conv(), torch::nn::ReLU(), conv());
        const auto input = torch::randn({1, 32, 112, 112});
        // glibc's starting mmap threshold, held fixed: every activation is a fresh mapping.
        mallopt(M_MMAP_THRESHOLD, 128 << 10);
        const long fresh = faults_of_forward_passes(net, input);
        mltk::keep_freed_tensor_memory();
        const long kept = faults_of_forward_passes(net, input);
        std::fprintf(stderr, "fresh mappings: %ld faults, kept memory: %ld faults\n", fresh, kept);
        // Each pass maps about four 1.6 MB activations of 392 pages.
        std::exit(fresh > 5 * 4 * 392 / 2 && kept < fresh / 10 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "fresh mappings");
}

}  // namespace
