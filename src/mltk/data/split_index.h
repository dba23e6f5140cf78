#pragma once
// Split index files: the lists of images that make up a fold's train/val part or the test set.
// One path per line, relative to the dataset's raw folder, '/' separators, sorted. A sample's class
// is the name of the folder that directly contains the file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mltk::data {

struct Sample {
  std::string path;  // raw_dir joined with the indexed relative path
  int64_t label;     // position of the class folder name in class_names
};

// The position in `class_names` of the folder that directly contains `path`; nullopt when that
// folder is not a class.
std::optional<int64_t> class_of(const std::string& path, const std::vector<std::string>& class_names);

// Reads `index_file` and resolves every line against `raw_dir`. Throws naming the file when an
// indexed image does not exist (so a stale index fails before training starts) or when its folder
// is not one of `class_names`.
std::vector<Sample> read_index(const std::string& index_file, const std::string& raw_dir,
                               const std::vector<std::string>& class_names);

// Writes `relative_paths` (sorted first, '/' separators) atomically to `index_file`.
void write_index(const std::string& index_file, std::vector<std::string> relative_paths);

// Paths of the files the splitter writes into `splits_dir`.
// part is "train" or "val": fold_<k>_<part>.txt.
std::string fold_index_path(const std::string& splits_dir, int fold, const std::string& part);
std::string test_index_path(const std::string& splits_dir);

}  // namespace mltk::data
