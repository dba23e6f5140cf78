#include "mltk/data/splitter.h"

#include "mltk/data/class_folders.h"
#include "mltk/data/random.h"
#include "mltk/data/split_index.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <stdexcept>

namespace mltk::data {
namespace {

namespace fs = std::filesystem;

// The images of one class, as paths relative to the raw folder.
struct ClassImages {
  std::vector<std::string> pool;   // what the folds are made of (and, by default, the test set)
  std::vector<std::string> given_test;  // val/ images when keep_given_split
};

// Sorted '/'-separated paths (relative to raw_dir) of the files directly inside `folder`; files
// without an image extension go to `skipped`.
std::vector<std::string> list_images(const fs::path& raw_dir, const fs::path& folder, std::vector<std::string>& skipped) {
  std::vector<std::string> images;
  if (!fs::is_directory(folder)) return images;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = fs::relative(entry.path(), raw_dir).generic_string();
    (has_image_extension(relative) ? images : skipped).push_back(relative);
  }
  std::sort(images.begin(), images.end());
  return images;
}

// Fisher-Yates with our own generator: std::shuffle's sequence is implementation-defined, and
// split files must be identical wherever they are produced.
void shuffle(std::vector<std::string>& items, Random& rng) {
  for (size_t i = items.size(); i > 1; --i)
    std::swap(items[i - 1], items[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(i) - 1))]);
}

void check_options(const SplitOptions& options) {
  if (options.folds < 2) throw std::invalid_argument("folds must be at least 2, got " + std::to_string(options.folds));
  if (options.test_ratio < 0.0 || options.test_ratio >= 1.0)
    throw std::invalid_argument("test_ratio must be in [0, 1), got " + std::to_string(options.test_ratio));
}

}  // namespace

bool has_image_extension(const std::string& path) {
  static const std::array<std::string, 9> extensions{".jpg", ".jpeg", ".png", ".bmp", ".webp",
                                                     ".tif", ".tiff", ".ppm", ".pgm"};
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), extension) != extensions.end();
}

std::vector<std::pair<std::string, size_t>> count_class_images(const std::string& raw_dir) {
  const fs::path raw(raw_dir);
  const bool given_split_layout = fs::is_directory(raw / "train");
  std::vector<std::string> ignored;
  std::vector<std::pair<std::string, size_t>> counts;
  for (const auto& name : discover_classes(raw_dir)) {
    const size_t count = given_split_layout ? list_images(raw, raw / "train" / name, ignored).size() +
                                                  list_images(raw, raw / "val" / name, ignored).size()
                                            : list_images(raw, raw / name, ignored).size();
    counts.emplace_back(name, count);
  }
  return counts;
}

SplitReport split_dataset(const std::string& raw_dir, const std::string& output_dir, const SplitOptions& options) {
  check_options(options);
  SplitReport report;
  report.class_names = discover_classes(raw_dir);
  const fs::path raw(raw_dir);
  report.given_split_layout = fs::is_directory(raw / "train");
  if (options.keep_given_split && !(report.given_split_layout && fs::is_directory(raw / "val")))
    throw std::invalid_argument("keep_given_split needs " + raw_dir + "/train/<class> and " + raw_dir +
                                "/val/<class> folders");

  std::vector<std::string> test;
  size_t fold_offset = 0;  // rotates fold assignment across classes so fold sizes stay balanced overall
  std::vector<std::vector<std::string>> fold_train(options.folds), fold_val(options.folds);
  for (size_t c = 0; c < report.class_names.size(); ++c) {
    const std::string& name = report.class_names[c];
    ClassImages images;
    if (report.given_split_layout) {
      images.pool = list_images(raw, raw / "train" / name, report.skipped_files);
      auto val_images = list_images(raw, raw / "val" / name, report.skipped_files);
      auto& target = options.keep_given_split ? images.given_test : images.pool;
      target.insert(target.end(), val_images.begin(), val_images.end());
    } else {
      images.pool = list_images(raw, raw / name, report.skipped_files);
    }
    const size_t total = images.pool.size() + images.given_test.size();
    if (total == 0) throw std::runtime_error("class '" + name + "' in " + raw_dir + " has no images");

    Random rng = Random::for_sample(options.seed, 0, c);
    shuffle(images.pool, rng);
    std::vector<std::string> class_test = images.given_test;
    if (!options.keep_given_split) {
      const auto count = static_cast<size_t>(static_cast<double>(images.pool.size()) * options.test_ratio + 0.5);
      class_test.assign(images.pool.begin(), images.pool.begin() + static_cast<std::ptrdiff_t>(count));
      images.pool.erase(images.pool.begin(), images.pool.begin() + static_cast<std::ptrdiff_t>(count));
    }
    if (images.pool.size() < static_cast<size_t>(options.folds))
      throw std::runtime_error("class '" + name + "' has " + std::to_string(images.pool.size()) +
                               " images left for cross-validation, fewer than the " + std::to_string(options.folds) +
                               " folds");

    ClassSplitCounts counts;
    counts.images = total;
    counts.test = class_test.size();
    counts.fold_train.assign(options.folds, 0);
    counts.fold_val.assign(options.folds, 0);
    for (size_t i = 0; i < images.pool.size(); ++i) {
      const size_t val_fold = (fold_offset + i) % static_cast<size_t>(options.folds);
      for (int k = 0; k < options.folds; ++k) {
        const bool is_val = static_cast<size_t>(k) == val_fold;
        (is_val ? fold_val : fold_train)[k].push_back(images.pool[i]);
        ++(is_val ? counts.fold_val : counts.fold_train)[k];
      }
    }
    fold_offset += images.pool.size();
    test.insert(test.end(), class_test.begin(), class_test.end());
    report.per_class[name] = counts;
  }

  fs::create_directories(output_dir);
  for (int k = 0; k < options.folds; ++k) {
    for (const auto& [part, paths] : {std::pair{"train", &fold_train[k]}, std::pair{"val", &fold_val[k]}}) {
      report.written_files.push_back(fold_index_path(output_dir, k, part));
      write_index(report.written_files.back(), *paths);
    }
  }
  report.written_files.push_back(test_index_path(output_dir));
  write_index(report.written_files.back(), test);
  std::sort(report.skipped_files.begin(), report.skipped_files.end());
  return report;
}

}  // namespace mltk::data
