// ml-import-fashion-mnist: writes a class-folder subset of Fashion-MNIST (Debian's
// dataset-fashion-mnist IDX files) as PNGs, the quickstart dataset.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/common/logging.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <random>

namespace mltk::cli {

namespace ml_import_fashion_mnist {

namespace fs = std::filesystem;

// Folder-safe versions of the dataset's class names, in label order.
const std::vector<std::string> kClassNames = {"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot"};

std::string read_gzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open " + path + " (install dataset-fashion-mnist or pass --source_dir)");
  std::string bytes;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) bytes.append(buffer, n);
  const bool failed = n < 0;
  gzclose(file);
  if (failed) throw std::runtime_error(path + " is not a readable gzip file");
  return bytes;
}

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes.at(offset + i));
  return value;
}

struct IdxImages {
  uint32_t count = 0, rows = 0, cols = 0;
  std::string pixels;  // count * rows * cols bytes, row-major
};

// IDX: a big-endian magic (2051 images, 2049 labels), the dimension sizes, then raw uint8 data.
IdxImages read_images(const std::string& path) {
  const auto bytes = read_gzip(path);
  if (bytes.size() < 16 || big_endian_u32(bytes, 0) != 2051) throw std::runtime_error(path + " is not an IDX image file");
  IdxImages out{big_endian_u32(bytes, 4), big_endian_u32(bytes, 8), big_endian_u32(bytes, 12), bytes.substr(16)};
  if (out.pixels.size() != static_cast<size_t>(out.count) * out.rows * out.cols)
    throw std::runtime_error(path + " is truncated");
  return out;
}

std::string read_labels(const std::string& path, uint32_t expected_count) {
  const auto bytes = read_gzip(path);
  if (bytes.size() < 8 || big_endian_u32(bytes, 0) != 2049) throw std::runtime_error(path + " is not an IDX label file");
  if (big_endian_u32(bytes, 4) != expected_count || bytes.size() != 8 + expected_count)
    throw std::runtime_error(path + " does not hold one label per image");
  return bytes.substr(8);
}

}  // namespace ml_import_fashion_mnist

int ml_import_fashion_mnist_main(int argc, char** argv) {
  using namespace ml_import_fashion_mnist;
  CLI::App app{"ml-import-fashion-mnist: write a class-folder PNG subset of Fashion-MNIST for the quickstart."};
  std::string source_dir = "/usr/share/datasets/fashion-mnist", output = "data/fashion_mnist/raw";
  int per_class = 100;
  uint64_t seed = 42;
  cli::CommonOptions common;
  app.add_option("--source_dir", source_dir, "Folder with the gzipped IDX files")->capture_default_str();
  app.add_option("--output", output, "Raw folder to write <class>/<index>.png into")->capture_default_str();
  app.add_option("--per_class", per_class, "Images per class, drawn from the training set")
      ->check(CLI::Range(1, 6000))
      ->capture_default_str();
  app.add_option("--seed", seed, "Seed of the choice of images")->capture_default_str();
  cli::add_common_options(app, common);

  return cli::run(app, common, argc, argv, [&]() -> int {
    const auto images = read_images(source_dir + "/train-images-idx3-ubyte.gz");
    const auto labels = read_labels(source_dir + "/train-labels-idx1-ubyte.gz", images.count);
    if (fs::exists(output) && !fs::is_empty(output))
      throw std::runtime_error(output + " already holds files; remove it first to import again");

    std::vector<std::vector<uint32_t>> by_class(kClassNames.size());
    for (uint32_t i = 0; i < images.count; ++i) by_class.at(static_cast<uint8_t>(labels[i])).push_back(i);
    std::mt19937_64 rng(seed);
    const size_t image_bytes = static_cast<size_t>(images.rows) * images.cols;
    for (size_t c = 0; c < kClassNames.size(); ++c) {
      auto& indices = by_class[c];
      std::shuffle(indices.begin(), indices.end(), rng);
      indices.resize(std::min<size_t>(indices.size(), per_class));
      const fs::path folder = fs::path(output) / kClassNames[c];
      fs::create_directories(folder);
      for (const auto index : indices) {
        const cv::Mat gray(static_cast<int>(images.rows), static_cast<int>(images.cols), CV_8UC1,
                           const_cast<char*>(images.pixels.data() + index * image_bytes));
        const auto path = (folder / (std::to_string(index) + ".png")).string();
        if (!cv::imwrite(path, gray)) throw std::runtime_error("cannot write " + path);
      }
    }
    log::success("✓ Wrote {} images per class for {} classes into {}", per_class, kClassNames.size(), output);
    return 0;
  });
}

}  // namespace mltk::cli
