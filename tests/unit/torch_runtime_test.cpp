#include "mltk/common/torch_runtime.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

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

}  // namespace
