#pragma once
// What a page records about the software that produced it, so that two runs can be told apart.
#include <string>
#include <utility>
#include <vector>

namespace mltk::report {

// (name, value) rows: mltk, LibTorch, OpenCV and compiler versions, LibTorch's thread count, the
// OpenBLAS kernel set (when the BLAS is OpenBLAS), the host.
std::vector<std::pair<std::string, std::string>> environment_facts();

}  // namespace mltk::report
