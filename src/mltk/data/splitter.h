#pragma once
// Stratified, seeded splitting of an image-folder dataset into k cross-validation folds and a test
// set, written as index files (split_index.h).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mltk::data {

struct SplitOptions {
  int folds = 5;
  double test_ratio = 0.2;
  uint64_t seed = 42;
  // For raw/train/<class> + raw/val/<class> layouts: keep val/ as the test set and fold train/
  // only, instead of pooling both and drawing a fresh test set (the default).
  bool keep_given_split = false;
};

struct ClassSplitCounts {
  size_t images = 0;
  size_t test = 0;
  std::vector<size_t> fold_train, fold_val;  // one entry per fold
};

struct SplitReport {
  std::vector<std::string> class_names;
  std::map<std::string, ClassSplitCounts> per_class;
  std::vector<std::string> skipped_files;  // relative paths that are not images (by extension)
  std::vector<std::string> written_files;  // index files, in the order written
  bool given_split_layout = false;          // raw/ holds train/ (and val/) folders
};

// True for the extensions OpenCV decodes: jpg jpeg png bmp webp tif tiff ppm pgm (any case).
// GIF is not among them: OpenCV cannot read it.
bool has_image_extension(const std::string& path);

// Number of images (by extension) per class folder, in class order; both parts are counted for
// the train/ + val/ layout.
std::vector<std::pair<std::string, size_t>> count_class_images(const std::string& raw_dir);

// Splits the images under `raw_dir` into `output_dir`/fold_<k>_{train,val}.txt (k = 0..folds-1)
// and test.txt. Same input and seed give byte-identical files. Throws when a class folder has no
// images, when there are fewer images in a class than folds, or on bad options.
SplitReport split_dataset(const std::string& raw_dir, const std::string& output_dir, const SplitOptions& options);

}  // namespace mltk::data
