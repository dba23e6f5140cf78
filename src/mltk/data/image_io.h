#pragma once
// Decoding image files to RGB uint8 (OpenCV, or libjpeg directly for partial JPEG decodes), never
// throwing on bad files.
#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mltk::data {

// Either a decoded image or the reason it could not be decoded.
struct DecodedImage {
  cv::Mat rgb;         // CV_8UC3, RGB order; empty on failure
  std::string error;   // empty on success
  bool ok() const { return error.empty(); }
};

// A file's bytes, or the reason it could not be read.
struct FileBytes {
  std::vector<uchar> bytes;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};
FileBytes read_file_bytes(const std::string& path);

// Decodes `path` to RGB. When `min_short_side` > 0 and the file is a JPEG much larger than that,
// libjpeg's DCT scaling decodes at 1/2, 1/4 or 1/8 size, the largest reduction whose short side
// stays >= min_short_side. EXIF orientation is ignored, as PIL (and so torchvision) does. Images
// whose header (JPEG, PNG, BMP, PNM, TIFF, WebP) declares more than kMaxDecodedPixels after that reduction,
// and JPEGs whose coefficient buffer would exceed kMaxJpegCoefficientBytes, fail with a reason
// naming their size.
DecodedImage decode_image(const std::string& path, int min_short_side = 0);
// The same for a file already read into memory.
DecodedImage decode_image(const std::vector<uchar>& bytes, int min_short_side = 0);

// The reduction (1, 2, 4 or 8) decode_image uses for an image of width x height.
int reduced_decode_factor(int width, int height, int min_short_side);

struct ImageSize {
  int width = 0, height = 0;
};
// A JPEG's size as libjpeg reads it from the header (so as every decoder sees it), without
// decoding; nullopt for anything else and for headers libjpeg rejects.
std::optional<ImageSize> jpeg_size(const std::vector<uchar>& bytes);
// The most pixels decode_image and decode_jpeg_region produce: 2^26 (8192 x 8192, 192 MiB as RGB).
// A header declaring more is refused before any buffer is allocated: a file of a few dozen bytes
// would otherwise make OpenCV allocate up to its own limit of 2^30 pixels (3 GiB) per image.
inline constexpr int64_t kMaxDecodedPixels = int64_t{1} << 26;

// The most memory the DCT coefficients of a JPEG of several scans (progressive, or one component per
// scan) may take: libjpeg buffers them for the whole image before producing a row, at full size even
// when decoding at 1/8, so a 545-byte progressive file declaring 30000 x 30000 pixels would take
// 2.7 GB. 512 MiB allows 4:2:0 progressive photos of up to about 178 megapixels.
inline constexpr uint64_t kMaxJpegCoefficientBytes = uint64_t{512} << 20;

// A JPEG's size when decoded at 1/reduction (libjpeg rounds scaled sizes up).
ImageSize reduced_size(ImageSize full, int reduction);

// Decodes only `region` of a JPEG decoded at 1/reduction scale (reduction 1, 2, 4 or 8; region in
// the coordinates of that reduced image): rows below the region are never decoded, and rows above
// it and columns beside it are only entropy-decoded, skipping the inverse DCT and colour
// conversion. Fails (with a reason) on files libjpeg rejects, on CMYK JPEGs, which OpenCV
// decodes instead, on regions of more than kMaxDecodedPixels and on JPEGs whose coefficient buffer
// would exceed kMaxJpegCoefficientBytes.
DecodedImage decode_jpeg_region(const std::vector<uchar>& bytes, int reduction, const cv::Rect& region);

}  // namespace mltk::data
