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
// whitespace and '#' comments. OpenCV's reader takes the byte after a number's last digit as its
// terminator, whatever it is ("20000`20000" declares 20000 x 20000), so this reader does too.
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
    if (pos >= bytes.size() || !std::isdigit(bytes[pos])) return std::nullopt;
    for (; pos < bytes.size() && std::isdigit(bytes[pos]); ++pos)
      number = std::min<uint64_t>(number * 10 + (bytes[pos] - '0'), uint64_t{1} << 31);  // saturated: far too large already
    if (pos < bytes.size()) ++pos;  // the terminator
  }
  return DeclaredSize{numbers[0], numbers[1]};
}

// TIFF (classic and BigTIFF, either byte order): ImageWidth (256) and ImageLength (257) of the
// first directory, the page OpenCV decodes. Tiled files also declare a tile size (322, 323), which
// OpenCV allocates as one buffer, so the larger of the two is what counts.
std::optional<DeclaredSize> tiff_size(const std::vector<uchar>& bytes) {
  if (bytes.size() < 16) return std::nullopt;
  const bool little = bytes[0] == 'I' && bytes[1] == 'I';
  if (!little && !(bytes[0] == 'M' && bytes[1] == 'M')) return std::nullopt;
  const auto read = [&](size_t at, int length) -> uint64_t {
    uint64_t value = 0;
    for (int i = 0; i < length; ++i) value |= uint64_t{bytes[at + (little ? i : length - 1 - i)]} << (8 * i);
    return value;
  };
  const bool big_tiff = read(2, 2) == 0x2B;
  const int offset_length = big_tiff ? 8 : 4, count_length = big_tiff ? 8 : 2, entry_length = big_tiff ? 20 : 12;
  const uint64_t directory = read(big_tiff ? 8 : 4, offset_length);
  if (directory > bytes.size() || bytes.size() - directory < static_cast<uint64_t>(count_length)) return std::nullopt;
  const uint64_t entries = std::min<uint64_t>(read(directory, count_length),
                                              (bytes.size() - directory - count_length) / entry_length);
  DeclaredSize image, tile;
  for (uint64_t i = 0; i < entries; ++i) {
    const size_t entry = directory + count_length + i * entry_length;
    const uint64_t tag = read(entry, 2), type = read(entry + 2, 2);
    const size_t value_at = entry + 4 + offset_length;
    // SHORT, LONG and (BigTIFF only, whose entries have room for it) LONG8 values sit inside the
    // entry, at the start of its value field whatever the byte order.
    const uint64_t value = type == 3                ? read(value_at, 2)
                           : type == 4              ? read(value_at, 4)
                           : type == 16 && big_tiff ? read(value_at, 8)
                                                    : 0;
    if (tag == 256) image.width = value;
    if (tag == 257) image.height = value;
    if (tag == 322) tile.width = value;
    if (tag == 323) tile.height = value;
  }
  return tile.pixels() > image.pixels() ? tile : image;
}

// WebP: the canvas of an extended file (VP8X, 24-bit sizes minus one), else the frame of a lossy
// (VP8, 14 bits) or lossless (VP8L, 14 bits minus one) bitstream.
std::optional<DeclaredSize> webp_size(const std::vector<uchar>& bytes) {
  if (bytes.size() < 30 || !starts_with(bytes, {'R', 'I', 'F', 'F'}) || !starts_with(bytes, {'W', 'E', 'B', 'P'}, 8))
    return std::nullopt;
  if (starts_with(bytes, {'V', 'P', '8', 'X'}, 12))
    return DeclaredSize{little_endian(bytes, 24, 3) + uint64_t{1}, little_endian(bytes, 27, 3) + uint64_t{1}};
  if (starts_with(bytes, {'V', 'P', '8', ' '}, 12))
    return DeclaredSize{little_endian(bytes, 26, 2) & 0x3FFFu, little_endian(bytes, 28, 2) & 0x3FFFu};
  if (starts_with(bytes, {'V', 'P', '8', 'L'}, 12)) {
    const uint32_t bits = little_endian(bytes, 21, 4);
    return DeclaredSize{(bits & 0x3FFFu) + uint64_t{1}, ((bits >> 14) & 0x3FFFu) + uint64_t{1}};
  }
  return std::nullopt;
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

// What jpeg_read_header tells of a JPEG before any pixel is decoded.
struct JpegHeader {
  ImageSize size;
  // The whole-image DCT coefficient buffer libjpeg allocates before decoding a file of several
  // scans (progressive, or one component per scan), at full size whatever the DCT scaling: two
  // bytes per coefficient, 64 per block. Zero for single-scan files, which decode row by row.
  uint64_t buffered_coefficient_bytes = 0;
};

// The header facts of `info` after jpeg_read_header.
JpegHeader jpeg_header_of(const jpeg_decompress_struct& info) {
  JpegHeader header;
  header.size = {static_cast<int>(info.image_width), static_cast<int>(info.image_height)};
  // libjpeg decides the same way (jdinput.c): several scans need the whole-image buffer.
  if (!info.progressive_mode && info.comps_in_scan >= info.num_components) return header;
  const auto round_up = [](uint64_t value, uint64_t multiple) { return (value + multiple - 1) / multiple * multiple; };
  for (int component = 0; component < info.num_components; ++component) {
    const jpeg_component_info& c = info.comp_info[component];
    header.buffered_coefficient_bytes += round_up(c.width_in_blocks, static_cast<uint64_t>(c.h_samp_factor)) *
                                         round_up(c.height_in_blocks, static_cast<uint64_t>(c.v_samp_factor)) *
                                         DCTSIZE2 * sizeof(JCOEF);
  }
  return header;
}

// libjpeg's own reading of the header, which skips what it tolerates (stray bytes before a marker,
// fill bytes, restart markers), so the size is the one every decoder of the file will use. Kept
// free of local objects with destructors, because an error longjmps out of it.
void read_jpeg_header(jpeg_decompress_struct& info, const std::vector<uchar>& bytes, JpegHeader& header) {
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) return;
  header = jpeg_header_of(info);
}

std::optional<JpegHeader> jpeg_header(const std::vector<uchar>& bytes) {
  if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return std::nullopt;
  JpegDecompressor jpeg;
  JpegHeader header;
  if (!setjmp(jpeg.errors.jump)) read_jpeg_header(jpeg.info, bytes, header);
  if (header.size.width <= 0 || header.size.height <= 0) return std::nullopt;
  return header;
}

std::string too_many_coefficients(const JpegHeader& header) {
  return "the image declares " + std::to_string(header.size.width) + " x " + std::to_string(header.size.height) +
         " pixels in several scans (progressive JPEG), whose decoding needs " +
         std::to_string(header.buffered_coefficient_bytes >> 20) + " MiB of DCT coefficients, more than the " +
         std::to_string(kMaxJpegCoefficientBytes >> 20) + " MiB allowed";
}

// The libjpeg calls of decode_jpeg_region. Kept free of local objects with destructors, because
// an error longjmps out of it.
void read_jpeg_region(jpeg_decompress_struct& info, const std::vector<uchar>& bytes, int reduction,
                      const cv::Rect& region, DecodedImage& image) {
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  if (const JpegHeader header = jpeg_header_of(info); header.buffered_coefficient_bytes > kMaxJpegCoefficientBytes) {
    image.error = too_many_coefficients(header);
    return;
  }
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
  if (const auto header = jpeg_header(bytes)) return header->size;
  return std::nullopt;
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
  if (const auto header = jpeg_header(bytes)) {
    if (header->buffered_coefficient_bytes > kMaxJpegCoefficientBytes) return {{}, too_many_coefficients(*header)};
    factor = reduced_decode_factor(header->size.width, header->size.height, min_short_side);
    const ImageSize decoded = reduced_size(header->size, factor);
    declared = DeclaredSize{static_cast<uint64_t>(decoded.width), static_cast<uint64_t>(decoded.height)};
  } else {
    for (const auto header_size : {png_size, bmp_size, pnm_size, tiff_size, webp_size})
      if ((declared = header_size(bytes))) break;
    // A PNM header this reader cannot follow may still be one OpenCV reads, at a size unchecked.
    if (!declared && is_pnm(bytes)) return {{}, "its PNM header gives no width and height that can be read"};
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
