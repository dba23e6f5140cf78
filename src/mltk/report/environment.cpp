#include "mltk/report/environment.h"

#include "mltk/common/openblas_kernel.h"

#include <ATen/Parallel.h>
#include <opencv2/core/version.hpp>
#include <torch/version.h>
#include <unistd.h>

#include <fmt/format.h>

namespace mltk::report {

std::vector<std::pair<std::string, std::string>> environment_facts() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string blas_kernels = openblas_core_name();
  std::vector<std::pair<std::string, std::string>> facts{
      {"mltk", MLTK_VERSION},
      {"LibTorch", fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH)},
      {"OpenCV", CV_VERSION},
      {"compiler", __VERSION__},
      {"LibTorch threads", std::to_string(at::get_num_threads())},
      {"host", host},
  };
  if (!blas_kernels.empty()) facts.emplace(facts.end() - 1, "OpenBLAS kernels", blas_kernels);
  return facts;
}

}  // namespace mltk::report
