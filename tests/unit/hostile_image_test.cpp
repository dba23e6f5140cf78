// Image files whose header declares a huge size over a few bytes of pixel data: decoding must refuse
// them from the header, naming the size, instead of allocating gigabytes for pixels that are not
// there. The first case is the input the image fuzz target found (scripts/fuzz.sh): a 70-byte PNG
// for which OpenCV allocated 2.7 GB.
#include "mltk/data/image_io.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace mltk;
using Bytes = std::vector<uchar>;

void append_big_endian(Bytes& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uchar>(value >> shift));
}

void append_little_endian(Bytes& bytes, uint32_t value, int length) {
  for (int i = 0; i < length; ++i) bytes.push_back(static_cast<uchar>(value >> (8 * i)));
}

void append_png_chunk(Bytes& png, const std::string& type, const Bytes& data) {
  append_big_endian(png, static_cast<uint32_t>(data.size()));
  Bytes typed(type.begin(), type.end());
  typed.insert(typed.end(), data.begin(), data.end());
  png.insert(png.end(), typed.begin(), typed.end());
  append_big_endian(png, static_cast<uint32_t>(crc32(0, typed.data(), static_cast<uInt>(typed.size()))));
}

// A well-formed 8-bit RGB PNG header and a deflated IDAT of 100 zero bytes.
Bytes png_declaring(uint32_t width, uint32_t height) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes header;
  append_big_endian(header, width);
  append_big_endian(header, height);
  header.insert(header.end(), {8, 2, 0, 0, 0});
  append_png_chunk(png, "IHDR", header);
  const Bytes zeros(100, 0);
  uLongf deflated_size = compressBound(zeros.size());
  Bytes deflated(deflated_size);
  compress(deflated.data(), &deflated_size, zeros.data(), zeros.size());
  deflated.resize(deflated_size);
  append_png_chunk(png, "IDAT", deflated);
  append_png_chunk(png, "IEND", {});
  return png;
}

// A 24-bit BMP with a 40-byte header and no pixel rows.
Bytes bmp_declaring(int32_t width, int32_t height) {
  Bytes bmp = {'B', 'M'};
  append_little_endian(bmp, 54, 4);  // file size (of the headers only)
  append_little_endian(bmp, 0, 4);
  append_little_endian(bmp, 54, 4);  // pixel data offset
  append_little_endian(bmp, 40, 4);
  append_little_endian(bmp, static_cast<uint32_t>(width), 4);
  append_little_endian(bmp, static_cast<uint32_t>(height), 4);
  append_little_endian(bmp, 1, 2);   // planes
  append_little_endian(bmp, 24, 2);  // bits per pixel
  for (int i = 0; i < 6; ++i) append_little_endian(bmp, 0, 4);
  return bmp;
}

Bytes text_bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

// A real 16x16 JPEG from OpenCV's encoder (progressive when asked) whose start-of-frame then claims
// width x height.
Bytes jpeg_declaring(int width, int height, bool progressive = false) {
  Bytes jpeg;
  cv::imencode(".jpg", cv::Mat(16, 16, CV_8UC3, cv::Scalar(40, 120, 200)), jpeg,
               {cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0});
  const uchar start_of_frame = progressive ? 0xC2 : 0xC0;
  for (size_t pos = 2; pos + 8 < jpeg.size(); ++pos) {
    if (jpeg[pos] == 0xFF && jpeg[pos + 1] == start_of_frame) {
      jpeg[pos + 5] = static_cast<uchar>(height >> 8), jpeg[pos + 6] = static_cast<uchar>(height);
      jpeg[pos + 7] = static_cast<uchar>(width >> 8), jpeg[pos + 8] = static_cast<uchar>(width);
      return jpeg;
    }
  }
  ADD_FAILURE() << "OpenCV's JPEG has no start-of-frame marker " << int{start_of_frame};
  return jpeg;
}

// The same JPEG with bytes that belong to no segment between its first segment (APP0) and the next
// marker: libjpeg skips them with a warning, as in the input the image fuzz target found.
Bytes with_stray_bytes_after_first_segment(Bytes jpeg) {
  const size_t first_segment_end = 4 + ((size_t{jpeg[4]} << 8) | jpeg[5]);
  jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(first_segment_end), {0x84, 0x84, 0xE2, 0x84, 0xF8});
  return jpeg;
}

// An uncompressed 8-bit grey TIFF (one directory, entries in either byte order, classic or BigTIFF)
// declaring width x height over a 3-byte strip.
Bytes tiff_declaring(uint32_t width, uint32_t height, bool big_endian, bool big_tiff) {
  const auto put = [&](Bytes& bytes, uint64_t value, int length) {
    for (int i = 0; i < length; ++i)
      bytes.push_back(static_cast<uchar>(value >> (8 * (big_endian ? length - 1 - i : i))));
  };
  const int offset_length = big_tiff ? 8 : 4;
  Bytes tiff = {big_endian ? uchar{'M'} : uchar{'I'}, big_endian ? uchar{'M'} : uchar{'I'}};
  put(tiff, big_tiff ? 0x2B : 0x2A, 2);
  if (big_tiff) put(tiff, 8, 2), put(tiff, 0, 2);
  put(tiff, big_tiff ? 16 : 8, offset_length);
  const std::vector<std::pair<uint16_t, uint32_t>> entries = {
      {256, width}, {257, height}, {258, 8}, {259, 1}, {262, 1}, {273, 0}, {277, 1}, {278, height}, {279, 3}};
  put(tiff, entries.size(), big_tiff ? 8 : 2);
  for (const auto& [tag, value] : entries) {
    put(tiff, tag, 2);
    put(tiff, 4, 2);  // LONG
    put(tiff, 1, offset_length);
    put(tiff, value, 4);
    if (big_tiff) put(tiff, 0, 4);
  }
  put(tiff, 0, offset_length);
  tiff.insert(tiff.end(), {7, 7, 7});
  return tiff;
}

// OpenCV's WebP encoding of a 16x16 image (lossless at quality > 100), its frame then claiming the
// largest size its bitstream can: 16384 x 16384 for lossless, 16383 x 16383 for lossy.
Bytes webp_declaring_largest_size(bool lossless) {
  Bytes webp;
  cv::imencode(".webp", cv::Mat(16, 16, CV_8UC3, cv::Scalar(40, 120, 200)), webp,
               {cv::IMWRITE_WEBP_QUALITY, lossless ? 101 : 80});
  if (lossless) {
    webp[21] = 0xFF, webp[22] = 0xFF, webp[23] = 0xFF, webp[24] = static_cast<uchar>((webp[24] & 0xF0) | 0x0F);
  } else {
    webp[26] = 0xFF, webp[27] = 0x3F, webp[28] = 0xFF, webp[29] = 0x3F;
  }
  return webp;
}

bool refused_for_size(const data::DecodedImage& image, const std::string& size) {
  return image.error.find("declares " + size + " pixels") != std::string::npos;
}

TEST(HostileImage, PngDeclaringAGiantSizeIsRefusedFromItsHeader) {
  const auto image = data::decode_image(png_declaring(30000, 30000));
  EXPECT_TRUE(refused_for_size(image, "30000 x 30000")) << image.error;
  EXPECT_TRUE(image.rgb.empty());
}

TEST(HostileImage, TheLimitIsTheDeclaredPixelCount) {
  // At the limit the header passes and OpenCV reports the missing pixel data itself.
  const auto at_limit = data::decode_image(png_declaring(8192, 8192));
  EXPECT_FALSE(at_limit.ok());
  EXPECT_FALSE(refused_for_size(at_limit, "8192 x 8192")) << at_limit.error;
  EXPECT_TRUE(refused_for_size(data::decode_image(png_declaring(8193, 8192)), "8193 x 8192"));
  EXPECT_TRUE(refused_for_size(data::decode_image(png_declaring(0xFFFFFFFFu, 0xFFFFFFFFu)), "4294967295 x 4294967295"));
}

TEST(HostileImage, BmpAndPnmDeclaringGiantSizesAreRefused) {
  EXPECT_TRUE(refused_for_size(data::decode_image(bmp_declaring(20000, 20000)), "20000 x 20000"));
  // A negative height means rows stored top-down; its magnitude counts.
  EXPECT_TRUE(refused_for_size(data::decode_image(bmp_declaring(20000, -20000)), "20000 x 20000"));
  EXPECT_TRUE(refused_for_size(data::decode_image(text_bytes("P6\n# made by hand\n20000 20000\n255\n")),
                               "20000 x 20000"));
  EXPECT_TRUE(refused_for_size(data::decode_image(text_bytes("P5 99999999999999999999 2 255 ")), "2147483648 x 2"));
  // Any byte ends a number for OpenCV, which allocated 2.4 GB for this 18-byte file (found by fuzzing).
  EXPECT_TRUE(refused_for_size(data::decode_image(text_bytes("P5\n088888`8844$1\x89\r")), "88888 x 8844"));
  EXPECT_EQ(data::decode_image(text_bytes("P5 width height 255 ")).error,
            "its PNM header gives no width and height that can be read");
  // A header ending right after a number (found by fuzzing the fix above: a read past the end).
  EXPECT_EQ(data::decode_image(text_bytes("P69")).error, "its PNM header gives no width and height that can be read");
}

TEST(HostileImage, TiffAndWebpDeclaringGiantSizesAreRefused) {
  // Found by the image fuzz target: OpenCV allocates a TIFF's whole image (here 2.7 GB) before
  // reading its few bytes of strip data.
  for (bool big_endian : {false, true})
    for (bool big_tiff : {false, true}) {
      const auto image = data::decode_image(tiff_declaring(30000, 30000, big_endian, big_tiff));
      EXPECT_TRUE(refused_for_size(image, "30000 x 30000")) << image.error << " big-endian " << big_endian
                                                           << " BigTIFF " << big_tiff;
    }
  // The same header at a small size is OpenCV's to decode: the parser must not refuse real files.
  const auto small_tiff = data::decode_image(tiff_declaring(3, 1, false, false));
  ASSERT_TRUE(small_tiff.ok()) << small_tiff.error;
  EXPECT_EQ(small_tiff.rgb.cols, 3);
  // Found by the image fuzz target in the header reader itself: a classic TIFF whose last entry, at
  // the end of the file, claims an 8-byte (BigTIFF) value that only 4 bytes are left for.
  const Bytes long8_at_end = {
      0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00,
      0x00, 0xDA, 0x30, 0x00, 0x00, 0x00, 0x01, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x24, 0x00,
      0x00, 0x00, 0x02, 0x01, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x3D, 0x05, 0x86, 0x00, 0x00, 0x9A,
      0xEC, 0x52, 0x99, 0xEB, 0x53, 0x9B, 0xEC, 0x51, 0x99, 0xEB, 0x52, 0x99, 0xE7, 0x52, 0x99, 0xEB,
      0x52, 0x99, 0xEB, 0x52, 0x9A, 0xEC, 0x53, 0x9A, 0xEB, 0x11, 0x53, 0x9B, 0xEC, 0x53, 0x9A, 0xEC,
      0x53, 0x9A, 0xEC, 0x53, 0x10, 0x00, 0x0B, 0x0E, 0x9A, 0x61, 0x89, 0xFF, 0xD9, 0xEB, 0x57, 0x9F,
      0xED,
  };
  EXPECT_FALSE(data::decode_image(long8_at_end).ok());
  for (bool lossless : {false, true}) {
    const auto image = data::decode_image(webp_declaring_largest_size(lossless));
    EXPECT_TRUE(refused_for_size(image, lossless ? "16384 x 16384" : "16383 x 16383")) << image.error;
  }
}

TEST(HostileImage, JpegDeclaringAGiantSizeIsRefusedAtTheSizeItWouldBeDecodedAt) {
  const Bytes jpeg = jpeg_declaring(60000, 60000);
  EXPECT_TRUE(refused_for_size(data::decode_image(jpeg), "60000 x 60000"));
  // Decoded at 1/8 for a short side of 256: 7500 x 7500 pixels pass the limit, and the decode then
  // ends without an image or with libjpeg's grey padding, but does not stop at the header.
  EXPECT_EQ(data::decode_image(jpeg, 256).error.find("declares"), std::string::npos);
  const auto region = data::decode_jpeg_region(jpeg, 1, cv::Rect(0, 0, 20000, 20000));
  EXPECT_NE(region.error.find("pixels, more than the 67108864"), std::string::npos) << region.error;
  EXPECT_TRUE(region.rgb.empty());
}

TEST(HostileImage, ProgressiveJpegWhoseCoefficientsWouldNotFitIsRefusedAtAnyReduction) {
  // Found by the image fuzz target: a 545-byte progressive JPEG declaring 30000 x 30000 pixels made
  // libjpeg allocate 2.7 GB of coefficients, although decoding at 1/8 gives 3750 x 3750 pixels.
  const Bytes progressive = jpeg_declaring(30000, 30000, true);
  for (int min_short_side : {0, 256}) {
    const auto image = data::decode_image(progressive, min_short_side);
    EXPECT_NE(image.error.find("30000 x 30000 pixels in several scans (progressive JPEG)"), std::string::npos)
        << image.error;
    EXPECT_NE(image.error.find("more than the 512 MiB allowed"), std::string::npos) << image.error;
  }
  const auto region = data::decode_jpeg_region(progressive, 8, cv::Rect(0, 0, 100, 100));
  EXPECT_NE(region.error.find("progressive JPEG"), std::string::npos) << region.error;
  // The same size in one scan decodes row by row and only meets the pixel limit.
  EXPECT_EQ(data::decode_image(jpeg_declaring(30000, 30000), 256).error.find("several scans"), std::string::npos);
  // A progressive JPEG whose buffer fits is not refused for it (its missing data is another matter).
  EXPECT_EQ(data::decode_image(jpeg_declaring(4000, 3000, true), 256).error.find("several scans"), std::string::npos);
  // And a real one decodes to its pixels.
  const auto small = data::decode_image(jpeg_declaring(16, 16, true));
  ASSERT_TRUE(small.ok()) << small.error;
  EXPECT_EQ(small.rgb.cols, 16);
}

TEST(HostileImage, JpegSizeIsReadAsLibjpegReadsTheHeader) {
  const Bytes stray = with_stray_bytes_after_first_segment(jpeg_declaring(16, 16));
  const auto size = data::jpeg_size(stray);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 16);
  EXPECT_EQ(size->height, 16);
  // So stray bytes cannot hide a giant size from the limit.
  const auto image = data::decode_image(with_stray_bytes_after_first_segment(jpeg_declaring(12000, 12000)));
  EXPECT_TRUE(refused_for_size(image, "12000 x 12000")) << image.error;
}

TEST(HostileImage, OnlyTheListedFormatsReachOpenCV) {
  // Found by the image fuzz target: "DICM" at byte 128 hands any file to Debian OpenCV's DICOM
  // decoder (GDCM), which aborted the process on this one with a failed assertion.
  const Bytes dicom = text_bytes("P4" + std::string(126, '7') + "DICM");
  EXPECT_EQ(data::decode_image(dicom).error, "not a JPEG, PNG, BMP, WebP, TIFF or PNM image");
  EXPECT_EQ(data::decode_image(text_bytes("GIF89a")).error, "not a JPEG, PNG, BMP, WebP, TIFF or PNM image");
  // The listed formats still decode.
  for (const std::string extension : {".jpg", ".png", ".bmp", ".webp", ".tiff", ".ppm"}) {
    Bytes encoded;
    ASSERT_TRUE(cv::imencode(extension, cv::Mat(8, 8, CV_8UC3, cv::Scalar(0, 0, 255)), encoded)) << extension;
    const auto image = data::decode_image(encoded);
    ASSERT_TRUE(image.ok()) << extension << ": " << image.error;
    // Red first (RGB order); JPEG and WebP are lossy by a few levels.
    EXPECT_GE(image.rgb.at<cv::Vec3b>(4, 4)[0], 245) << extension;
    EXPECT_LE(image.rgb.at<cv::Vec3b>(4, 4)[2], 10) << extension;
  }
}

}  // namespace
