#include "mltk/data/class_folders.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace mltk::data {
namespace {

std::vector<std::string> subfolders(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string()[0] != '.') names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<std::string> discover_classes(const std::string& raw_dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(raw_dir))
    throw std::runtime_error("dataset folder " + raw_dir + " does not exist (expected one sub-folder per class)");
  std::vector<std::string> names = subfolders(raw_dir);
  const bool split_layout = std::find(names.begin(), names.end(), "train") != names.end() &&
                            !subfolders(fs::path(raw_dir) / "train").empty();
  if (split_layout) names = subfolders(fs::path(raw_dir) / "train");
  if (names.empty()) throw std::runtime_error("dataset folder " + raw_dir + " has no class sub-folders");
  return names;
}

}  // namespace mltk::data
