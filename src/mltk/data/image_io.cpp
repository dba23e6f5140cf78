#include "mltk/data/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>
#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <initializer_list>
#include <iterator>
#include <fstream>
#include <jpeglib.h>

namespace mltk::data {
namespace {

// Image sizes as headers declare them: up to 2^32 - 1 per side, so products need 64 bits.
struct DeclaredSize {
  uint64_t width = 0, height = 0;
  uint64_t pixels() const { return width * height; }
};

uint32_t big_endian_32(const std::vector<uchar>& bytes, size_t at) {
  return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) | (uint32_t{bytes[at + 2]} << 8) | bytes[at + 3];
}

uint32_t little_endian(const std::vector<uchar>& bytes, size_t at, int length) {
  uint32_t value = 0;
  for (int i = length - 1; i >= 0; --i) value = (value << 8) | bytes[at + i];
  return value;
}

bool starts_with(const std::vector<uchar>& bytes, std::initializer_list<uchar> prefix, size_t at = 0) {
  return bytes.size() >= at + prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
}

// The signatures OpenCV's own decoders check, for the formats whose headers we read.
bool is_png(const std::vector<uchar>& bytes) { return starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}); }
bool is_bmp(const std::vector<uchar>& bytes) { return starts_with(bytes, {'B', 'M'}); }
bool is_pnm(const std::vector<uchar>& bytes) { return bytes.size() > 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6'; }

// PNG: the IHDR chunk always comes first, right after the signature.
std::optional<DeclaredSize> png_size(const std::vector<uchar>& bytes) {
  if (bytes.size() < 24 || !is_png(bytes) || !starts_with(bytes, {0, 0, 0, 13, 'I', 'H', 'D', 'R'}, 8)) return std::nullopt;
  return DeclaredSize{big_endian_32(bytes, 16), big_endian_32(bytes, 20)};
}

// BMP: 16-bit sizes in the OS/2 header (12 bytes), signed 32-bit ones (negative height: top-down
// rows) in every later header.
std::optional<DeclaredSize> bmp_size(const std::vector<uchar>& bytes) {
  if (bytes.size() < 26 || !is_bmp(bytes)) return std::nullopt;
  if (little_endian(bytes, 14, 4) == 12) return DeclaredSize{little_endian(bytes, 18, 2), little_endian(bytes, 20, 2)};
  const auto magnitude = [](uint32_t value) {
    const int64_t signed_value = static_cast<int32_t>(value);
    return static_cast<uint64_t>(signed_value < 0 ? -signed_value : signed_value);
  };
  return DeclaredSize{magnitude(little_endian(bytes, 18, 4)), magnitude(little_endian(bytes, 22, 4))};
}

// PNM (P1 to P6): width and height are the first two decimal numbers after the magic, separated by
// whitespace and '#' comments.
std::optional<DeclaredSize> pnm_size(const std::vector<uchar>& bytes) {
  if (!is_pnm(bytes)) return std::nullopt;
  size_t pos = 2;
  uint64_t numbers[2] = {0, 0};
  for (uint64_t& number : numbers) {
    while (pos < bytes.size() && (std::isspace(bytes[pos]) || bytes[pos] == '#')) {
      if (bytes[pos] == '#')
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      else
        ++pos;
    }
    if (pos == bytes.size() || !std::isdigit(bytes[pos])) return std::nullopt;
    for (; pos < bytes.size() && std::isdigit(bytes[pos]); ++pos)
      number = std::min<uint64_t>(number * 10 + (bytes[pos] - '0'), uint64_t{1} << 31);  // saturated: far too large already
  }
  return DeclaredSize{numbers[0], numbers[1]};
}

// The formats the dataset tools list (data::has_image_extension), by the signatures OpenCV's own
// decoders check. Everything else is refused before OpenCV sees it: Debian's OpenCV also carries
// decoders such as GDCM's DICOM reader, which aborts the process on some malformed files. A DICOM
// file is recognised by "DICM" at byte 128 whatever it starts with, so that is refused too.
bool is_supported_format(const std::vector<uchar>& bytes) {
  if (starts_with(bytes, {'D', 'I', 'C', 'M'}, 128)) return false;
  return starts_with(bytes, {0xFF, 0xD8, 0xFF}) ||  // JPEG
         is_png(bytes) || is_bmp(bytes) || is_pnm(bytes) ||
         (starts_with(bytes, {'R', 'I', 'F', 'F'}) && starts_with(bytes, {'W', 'E', 'B', 'P'}, 8)) ||
         starts_with(bytes, {'I', 'I', 0x2A, 0}) || starts_with(bytes, {'M', 'M', 0, 0x2A}) ||  // TIFF
         starts_with(bytes, {'I', 'I', 0x2B, 0}) || starts_with(bytes, {'M', 'M', 0, 0x2B});    // BigTIFF
}

std::string too_many_pixels(const DeclaredSize& size) {
  return "the image declares " + std::to_string(size.width) + " x " + std::to_string(size.height) +
         " pixels, more than the " + std::to_string(kMaxDecodedPixels) + " (8192 x 8192) decoded at most";
}

int reduced_read_flag(int factor) {
  switch (factor) {
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    default: return cv::IMREAD_COLOR;
  }
}

// libjpeg reports fatal errors through error_exit, which must not return; jumping back to the
// caller is the only way out that C code can take.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_out_of_libjpeg(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (e.g. a truncated file padded with grey) would go to stderr; OpenCV ignores them too.
void ignore_jpeg_warning(j_common_ptr) {}

// A libjpeg decompressor whose errors jump to errors.jump, which the owner sets with setjmp in the
// same function (so no destructor is skipped by the jump).
struct JpegDecompressor {
  jpeg_decompress_struct info;
  JpegErrors errors;
  JpegDecompressor() {
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = jump_out_of_libjpeg;
    errors.manager.output_message = ignore_jpeg_warning;
    jpeg_create_decompress(&info);
  }
  ~JpegDecompressor() { jpeg_destroy_decompress(&info); }
  JpegDecompressor(const JpegDecompressor&) = delete;
  JpegDecompressor& operator=(const JpegDecompressor&) = delete;
};

// libjpeg's own reading of the header, which skips what it tolerates (stray bytes before a marker,
// fill bytes, restart markers), so the size is the one every decoder of the file will use. Kept
// free of local objects with destructors, because an error longjmps out of it.
void read_jpeg_header_size(jpeg_decompress_struct& info, const std::vector<uchar>& bytes, ImageSize& size) {
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) return;
  size = {static_cast<int>(info.image_width), static_cast<int>(info.image_height)};
}

// The libjpeg calls of decode_jpeg_region. Kept free of local objects with destructors, because
// an error longjmps out of it.
void read_jpeg_region(jpeg_decompress_struct& info, const std::vector<uchar>& bytes, int reduction,
                      const cv::Rect& region, DecodedImage& image) {
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
    image.error = "CMYK JPEG (libjpeg cannot convert it to RGB)";
    return;
  }
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = static_cast<unsigned>(reduction);
  jpeg_start_decompress(&info);
  if (region.x < 0 || region.y < 0 || region.width <= 0 || region.height <= 0 ||
      region.x + region.width > static_cast<int>(info.output_width) ||
      region.y + region.height > static_cast<int>(info.output_height)) {
    image.error = "crop region outside the image";
    jpeg_abort_decompress(&info);
    return;
  }
  // Chroma upsampling treats the first and last decoded columns as the image's edges, so decode
  // one iMCU (at most 16 pixels) more on each side to keep the region's edges identical to a full
  // decode; libjpeg also widens the range to whole iMCUs. The extra columns are cut off below.
  constexpr int kColumnMargin = 16;
  const int first_column = std::max(region.x - kColumnMargin, 0);
  const int end_column = std::min(region.x + region.width + kColumnMargin, static_cast<int>(info.output_width));
  JDIMENSION left = static_cast<JDIMENSION>(first_column), width = static_cast<JDIMENSION>(end_column - first_column);
  jpeg_crop_scanline(&info, &left, &width);
  const DeclaredSize decoded{width, static_cast<uint64_t>(region.height)};
  if (decoded.pixels() > static_cast<uint64_t>(kMaxDecodedPixels)) {
    image.error = too_many_pixels(decoded);
    jpeg_abort_decompress(&info);
    return;
  }
  jpeg_skip_scanlines(&info, static_cast<JDIMENSION>(region.y));
  image.rgb.create(region.height, static_cast<int>(width), CV_8UC3);
  const auto end = static_cast<JDIMENSION>(region.y + region.height);
  while (info.output_scanline < end) {
    JSAMPROW row = image.rgb.ptr<uchar>(static_cast<int>(info.output_scanline) - region.y);
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_abort_decompress(&info);  // the rows below the region are never decoded
  image.rgb = image.rgb.colRange(region.x - static_cast<int>(left), region.x - static_cast<int>(left) + region.width);
}

}  // namespace

FileBytes read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {{}, "cannot open file"};
  const std::streamoff size = in.tellg();
  if (size <= 0) return {{}, "file is empty"};
  FileBytes file;
  file.bytes.resize(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(file.bytes.data()), size)) return {{}, "cannot read file"};
  return file;
}

std::optional<ImageSize> jpeg_size(const std::vector<uchar>& bytes) {
  if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return std::nullopt;
  JpegDecompressor jpeg;
  ImageSize size;
  if (!setjmp(jpeg.errors.jump)) read_jpeg_header_size(jpeg.info, bytes, size);
  if (size.width <= 0 || size.height <= 0) return std::nullopt;
  return size;
}

ImageSize reduced_size(ImageSize full, int reduction) {
  return {(full.width + reduction - 1) / reduction, (full.height + reduction - 1) / reduction};
}

int reduced_decode_factor(int width, int height, int min_short_side) {
  if (min_short_side <= 0) return 1;
  const int short_side = std::min(width, height);
  // libjpeg rounds scaled sizes up; flooring here keeps the guarantee short_side / factor >= needed.
  for (int factor : {8, 4, 2})
    if (short_side / factor >= min_short_side) return factor;
  return 1;
}

DecodedImage decode_image(const std::string& path, int min_short_side) {
  const FileBytes file = read_file_bytes(path);
  if (!file.ok()) return {{}, file.error};
  return decode_image(file.bytes, min_short_side);
}

DecodedImage decode_image(const std::vector<uchar>& bytes, int min_short_side) {
  if (bytes.empty()) return {{}, "file is empty"};
  if (!is_supported_format(bytes)) return {{}, "not a JPEG, PNG, BMP, WebP, TIFF or PNM image"};
  int factor = 1;
  std::optional<DeclaredSize> declared;
  if (const auto size = jpeg_size(bytes)) {
    factor = reduced_decode_factor(size->width, size->height, min_short_side);
    const ImageSize decoded = reduced_size(*size, factor);
    declared = DeclaredSize{static_cast<uint64_t>(decoded.width), static_cast<uint64_t>(decoded.height)};
  } else if (!(declared = png_size(bytes)) && !(declared = bmp_size(bytes))) {
    declared = pnm_size(bytes);
  }
  if (declared && declared->pixels() > static_cast<uint64_t>(kMaxDecodedPixels)) return {{}, too_many_pixels(*declared)};
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

DecodedImage decode_jpeg_region(const std::vector<uchar>& bytes, int reduction, const cv::Rect& region) {
  DecodedImage image;
  JpegDecompressor jpeg;
  if (setjmp(jpeg.errors.jump)) return {{}, std::string("libjpeg could not decode it: ") + jpeg.errors.message};
  read_jpeg_region(jpeg.info, bytes, reduction, region, image);
  if (!image.ok()) image.rgb = cv::Mat();
  return image;
}

}  // namespace mltk::data
