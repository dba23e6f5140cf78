#include "mltk/data/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <iterator>
#include <optional>

namespace mltk::data {
namespace {

struct Size {
  int width, height;
};

// Width and height from a JPEG's start-of-frame marker, without decoding: reduced decoding only
// pays off for JPEG (libjpeg scales during the inverse DCT; other formats are decoded in full and
// resized by OpenCV), so this is the one header worth reading.
std::optional<Size> jpeg_size(const std::vector<uchar>& bytes) {
  if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return std::nullopt;
  size_t pos = 2;
  while (pos + 9 < bytes.size()) {
    if (bytes[pos] != 0xFF) return std::nullopt;
    const uchar marker = bytes[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    const size_t length = (size_t{bytes[pos + 2]} << 8) | bytes[pos + 3];
    const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (start_of_frame)
      return Size{(bytes[pos + 7] << 8) | bytes[pos + 8], (bytes[pos + 5] << 8) | bytes[pos + 6]};
    pos += 2 + length;
  }
  return std::nullopt;
}

int reduced_read_flag(int factor) {
  switch (factor) {
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    default: return cv::IMREAD_COLOR;
  }
}

}  // namespace

int reduced_decode_factor(int width, int height, int min_short_side) {
  if (min_short_side <= 0) return 1;
  const int short_side = std::min(width, height);
  // libjpeg rounds scaled sizes up; flooring here keeps the guarantee short_side / factor >= needed.
  for (int factor : {8, 4, 2})
    if (short_side / factor >= min_short_side) return factor;
  return 1;
}

DecodedImage decode_image(const std::string& path, int min_short_side) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {{}, "cannot open file"};
  const std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return {{}, "file is empty"};

  int factor = 1;
  if (const auto size = jpeg_size(bytes)) factor = reduced_decode_factor(size->width, size->height, min_short_side);
  // PIL ignores EXIF orientation, so torchvision-trained models saw unrotated pixels; do the same.
  const int flags = reduced_read_flag(factor) | cv::IMREAD_IGNORE_ORIENTATION;
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, flags);
  } catch (const cv::Exception& e) {
    return {{}, std::string("OpenCV could not decode it: ") + e.what()};
  }
  if (bgr.empty()) return {{}, "OpenCV could not decode it (unsupported format or corrupt data)"};
  DecodedImage image;
  cv::cvtColor(bgr, image.rgb, cv::COLOR_BGR2RGB);
  return image;
}

}  // namespace mltk::data
