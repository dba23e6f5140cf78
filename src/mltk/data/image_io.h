#pragma once
// Decoding image files to RGB uint8 with OpenCV, never throwing on bad files.
#include <opencv2/core.hpp>

#include <string>

namespace mltk::data {

// Either a decoded image or the reason it could not be decoded.
struct DecodedImage {
  cv::Mat rgb;         // CV_8UC3, RGB order; empty on failure
  std::string error;   // empty on success
  bool ok() const { return error.empty(); }
};

// Decodes `path` to RGB. When `min_short_side` > 0 and the file is a JPEG much larger than that,
// libjpeg's DCT scaling decodes at 1/2, 1/4 or 1/8 size, the largest reduction whose short side
// stays >= min_short_side. EXIF orientation is ignored, as PIL (and so torchvision) does.
DecodedImage decode_image(const std::string& path, int min_short_side = 0);

// The reduction (1, 2, 4 or 8) decode_image uses for an image of width x height.
int reduced_decode_factor(int width, int height, int min_short_side);

}  // namespace mltk::data
