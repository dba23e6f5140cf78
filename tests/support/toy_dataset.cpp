#include "support/toy_dataset.h"

#include "mltk/data/splitter.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <random>

namespace fs = std::filesystem;

namespace mltk::testkit {

void write_shapes_dataset(const std::string& data_dir, const std::string& name, int per_class, int side, int num_folds) {
  const fs::path root = fs::path(data_dir) / name;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(100, 140), tint(0, 60);
  for (const std::string shape : {"circles", "squares"}) {
    fs::create_directories(root / "raw" / shape);
    for (int i = 0; i < per_class; ++i) {
      cv::Mat image(side, side, CV_8UC3);
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(noise(rng), noise(rng), noise(rng));
      const int size = std::uniform_int_distribution<int>(side / 4, side / 2)(rng);
      const int x = std::uniform_int_distribution<int>(0, side - size - 1)(rng);
      const int y = std::uniform_int_distribution<int>(0, side - size - 1)(rng);
      // OpenCV colours are BGR: squares reddish, circles bluish.
      if (shape == "squares") {
        cv::rectangle(image, {x, y}, {x + size, y + size}, cv::Scalar(tint(rng), tint(rng), 200 + tint(rng) / 2), cv::FILLED);
      } else {
        cv::circle(image, {x + size / 2, y + size / 2}, size / 2, cv::Scalar(200 + tint(rng) / 2, tint(rng), tint(rng)),
                   cv::FILLED);
      }
      cv::imwrite((root / "raw" / shape / fmt::format("{:03}.png", i)).string(), image);
    }
  }
  data::SplitOptions options;
  options.folds = num_folds;
  options.test_ratio = 0.2;
  data::split_dataset((root / "raw").string(), (root / "splits").string(), options);
}

std::string shapes_config(const std::string& data_dir, const std::string& name, int side, const std::string& architecture,
                          const std::string& optimization) {
  return fmt::format(R"(data:
  dataset_name: {name}
  data_dir: {data_dir}
  num_folds: 4
  num_workers: 0
model:
  type: custom
  custom_architecture: {architecture}
  input_size: {side}
training:
  num_epochs: 6
  batch_size: 16
  seed: 3
{optimization}transforms:
  train:
    random_resized_crop:
      scale: [0.85, 1.0]
  eval:
    resize: {side}
)",
                     fmt::arg("name", name), fmt::arg("data_dir", data_dir), fmt::arg("architecture", architecture),
                     fmt::arg("side", side), fmt::arg("optimization", optimization));
}

ProcessResult run_tool(const std::string& tool, std::vector<std::string> args) {
  args.insert(args.begin(), std::string(MLTK_BINARY_DIR) + "/bin/" + tool);
  return run_process(args);
}

}  // namespace mltk::testkit
