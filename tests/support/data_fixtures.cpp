#include "support/data_fixtures.h"

#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mltk::testkit {

void write_solid_image(const std::string& path, cv::Vec3b rgb, int width, int height) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const cv::Mat bgr(height, width, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
  if (!cv::imwrite(path, bgr)) throw std::runtime_error("cannot write test image " + path);
}

cv::Vec3b label_colour(int label) {
  return {static_cast<uchar>(20 + 40 * label), static_cast<uchar>(200 - 30 * label), static_cast<uchar>(90)};
}

void write_class_folders(const std::string& root, const std::map<std::string, int>& images_per_class) {
  int label = 0;
  for (const auto& [name, count] : images_per_class) {
    for (int i = 0; i < count; ++i)
      write_solid_image(root + "/" + name + "/img_" + std::to_string(i) + ".png", label_colour(label));
    ++label;
  }
}

std::string hymenoptera_dir() {
  const char* env = std::getenv("MLTK_HYMENOPTERA_DIR");
  const std::string dir = env && *env ? env : "/work/shared/datasets/hymenoptera_data";
  return std::filesystem::is_directory(dir + "/train") ? dir : "";
}

}  // namespace mltk::testkit
