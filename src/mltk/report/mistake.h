#pragma once
// A wrong prediction shown on a page, with its thumbnail.
#include <cstdint>
#include <string>

namespace mltk::report {

struct Mistake {
  std::string path;
  int64_t true_class = 0, predicted_class = 0;
  float confidence = 0;
  std::string jpeg;  // the thumbnail's bytes; empty when the image can no longer be decoded
};

}  // namespace mltk::report
