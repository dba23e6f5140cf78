// The image decoders (data/image_io.h) on arbitrary files, as the data loader calls them: the
// OpenCV decode with DCT scaling (every format), and for JPEGs the libjpeg region decode of a crop
// drawn on the reduced image.
#include "mltk/data/image_io.h"

#include <algorithm>
#include <vector>

namespace {

// The short side torchvision's default evaluation resize needs (256 >= the 224 crop).
constexpr int kMinShortSide = 256;

// A crop box that depends on every input byte, so that the corpus explores edges and interiors.
cv::Rect region_for(const std::vector<uchar>& bytes, mltk::data::ImageSize size) {
  uint32_t hash = 2166136261u;
  for (uchar byte : bytes) hash = (hash ^ byte) * 16777619u;
  const int width = 1 + static_cast<int>(hash % static_cast<uint32_t>(size.width));
  const int height = 1 + static_cast<int>((hash >> 8) % static_cast<uint32_t>(size.height));
  const int left = static_cast<int>((hash >> 16) % static_cast<uint32_t>(size.width - width + 1));
  const int top = static_cast<int>((hash >> 4) % static_cast<uint32_t>(size.height - height + 1));
  return {left, top, width, height};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uchar> bytes(data, data + size);
  mltk::data::decode_image(bytes, kMinShortSide);
  if (const auto full = mltk::data::jpeg_size(bytes); full && full->width > 0 && full->height > 0) {
    const int reduction = mltk::data::reduced_decode_factor(full->width, full->height, kMinShortSide);
    const mltk::data::ImageSize reduced = mltk::data::reduced_size(*full, reduction);
    mltk::data::decode_jpeg_region(bytes, reduction, region_for(bytes, reduced));
  }
  return 0;
}
