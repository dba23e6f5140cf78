#include "mltk/data/split_index.h"

#include "mltk/common/atomic_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace mltk::data {

std::optional<int64_t> class_of(const std::string& path, const std::vector<std::string>& class_names) {
  const std::string folder = std::filesystem::path(path).parent_path().filename().string();
  const auto found = std::find(class_names.begin(), class_names.end(), folder);
  if (found == class_names.end()) return std::nullopt;
  return found - class_names.begin();
}

std::vector<Sample> read_index(const std::string& index_file, const std::string& raw_dir,
                               const std::vector<std::string>& class_names) {
  namespace fs = std::filesystem;
  std::ifstream in(index_file);
  if (!in) throw std::runtime_error("cannot read split index " + index_file + " (run ml-split first)");
  std::vector<Sample> samples;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const fs::path relative(line);
    const auto label = class_of(line, class_names);
    if (!label)
      throw std::runtime_error(index_file + ":" + std::to_string(line_number) + ": " + line + " is in folder '" +
                               relative.parent_path().filename().string() +
                               "', which is not one of the dataset's classes");
    const fs::path full = fs::path(raw_dir) / relative;
    if (!fs::is_regular_file(full))
      throw std::runtime_error(index_file + ":" + std::to_string(line_number) + ": indexed image " + full.string() +
                               " does not exist; re-run ml-split or restore the file");
    samples.push_back({full.string(), *label});
  }
  return samples;
}

void write_index(const std::string& index_file, std::vector<std::string> relative_paths) {
  for (auto& path : relative_paths) std::replace(path.begin(), path.end(), '\\', '/');
  std::sort(relative_paths.begin(), relative_paths.end());
  std::string text;
  for (const auto& path : relative_paths) text += path + "\n";
  write_file_atomically(index_file, text);
}

std::string fold_index_path(const std::string& splits_dir, int fold, const std::string& part) {
  return (std::filesystem::path(splits_dir) / ("fold_" + std::to_string(fold) + "_" + part + ".txt")).string();
}

std::string test_index_path(const std::string& splits_dir) {
  return (std::filesystem::path(splits_dir) / "test.txt").string();
}

}  // namespace mltk::data
