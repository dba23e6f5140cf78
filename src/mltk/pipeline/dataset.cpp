#include "mltk/pipeline/dataset.h"

#include "mltk/data/class_folders.h"

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace mltk::pipeline {

DatasetLayout dataset_layout(const config::Config& config) {
  if (!config.data.dataset_name) throw std::runtime_error(config.source + ": data.dataset_name is required");
  const fs::path root = fs::path(config.data.data_dir) / *config.data.dataset_name;
  return {(root / "raw").string(), (root / "splits").string(), config.data.num_folds};
}

int64_t resolve_num_classes(const config::Config& config, std::vector<std::string>& class_names) {
  const std::string raw_dir =
      (fs::path(config.data.data_dir) / config.data.dataset_name.value_or("") / "raw").string();
  if (config.data.dataset_name && fs::is_directory(raw_dir)) class_names = data::discover_classes(raw_dir);
  if (config.model.num_classes) {
    if (!class_names.empty() && static_cast<size_t>(*config.model.num_classes) != class_names.size())
      throw std::runtime_error(config.source + ": model.num_classes is " + std::to_string(*config.model.num_classes) +
                               " but " + raw_dir + " has " + std::to_string(class_names.size()) + " class folders");
    return *config.model.num_classes;
  }
  if (class_names.empty())
    throw std::runtime_error(config.source + ": model.num_classes is null and " + raw_dir +
                             " holds no class folders to count; set model.num_classes or data.dataset_name/data_dir");
  return static_cast<int64_t>(class_names.size());
}

std::vector<data::Sample> load_split(const DatasetLayout& layout, const std::string& index_file,
                                     const std::vector<std::string>& class_names) {
  if (!fs::is_regular_file(index_file))
    throw std::runtime_error("split file " + index_file + " does not exist; create the splits first with `ml-split --raw_data " +
                             layout.raw_dir + " --folds " + std::to_string(layout.num_folds) + "`");
  return data::read_index(index_file, layout.raw_dir, class_names);
}

}  // namespace mltk::pipeline
