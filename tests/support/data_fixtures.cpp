#include "support/data_fixtures.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace mltk::testkit {

void write_solid_image(const std::string& path, cv::Vec3b rgb, int width, int height) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const cv::Mat bgr(height, width, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
  if (!cv::imwrite(path, bgr)) throw std::runtime_error("cannot write test image " + path);
}

void write_jpeg_without_image(const std::string& path) {
  std::vector<uchar> bytes;
  cv::imencode(".jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar(50, 100, 200)), bytes);
  const uchar start_of_scan[] = {0xFF, 0xDA};
  const auto scan = std::search(bytes.begin(), bytes.end(), std::begin(start_of_scan), std::end(start_of_scan));
  bytes.erase(scan, bytes.end());
  bytes.insert(bytes.end(), {0xFF, 0xD9});  // end of image
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
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
  // The datasets folder sits beside the checkout, so a clone anywhere finds the same images.
  const std::string dir = env && *env ? env : std::string(MLTK_SOURCE_DIR) + "/../shared/datasets/hymenoptera_data";
  return std::filesystem::is_directory(dir + "/train") ? dir : "";
}

}  // namespace mltk::testkit
