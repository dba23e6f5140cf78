#pragma once
// Small image-folder datasets for the data pipeline tests, and the shared hymenoptera images.
#include "support/test_support.h"

#include <opencv2/core.hpp>

#include <map>
#include <string>

namespace mltk::testkit {

// Writes a width x height image of one RGB colour (PNG, or whatever the extension selects).
void write_solid_image(const std::string& path, cv::Vec3b rgb, int width = 40, int height = 30);
// Writes a JPEG whose headers (size included) are intact but which holds no image data: the
// header says "JPEG", every decoder fails.
void write_jpeg_without_image(const std::string& path);

// Creates <root>/<class>/img_<i>.png for each class with the given number of images, each filled
// with label_colour(label) so that the pixels tell which class an image came from.
void write_class_folders(const std::string& root, const std::map<std::string, int>& images_per_class);
cv::Vec3b label_colour(int label);

// ../shared/datasets/hymenoptera_data beside the repository root (MLTK_HYMENOPTERA_DIR overrides
// it); empty when missing.
std::string hymenoptera_dir();

}  // namespace mltk::testkit

// Skips the current test when the hymenoptera images are missing, except in CI where it fails.
#define MLTK_REQUIRE_HYMENOPTERA()                                                          \
  do {                                                                                      \
    if (::mltk::testkit::hymenoptera_dir().empty()) {                                       \
      if (::mltk::testkit::running_in_ci()) FAIL() << "hymenoptera dataset missing";        \
      GTEST_SKIP() << "hymenoptera dataset not found (set MLTK_HYMENOPTERA_DIR)";           \
    }                                                                                       \
  } while (0)
