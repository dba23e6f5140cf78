#pragma once
// Where a configuration's dataset lives on disk and how its split index files are read:
// <data_dir>/<dataset_name>/raw/<class>/... and <data_dir>/<dataset_name>/splits/*.txt.
#include "mltk/config/config.h"
#include "mltk/data/split_index.h"

#include <string>
#include <vector>

namespace mltk::pipeline {

struct DatasetLayout {
  std::string raw_dir;
  std::string splits_dir;
  int num_folds = 0;
};

// Throws when data.dataset_name is unset.
DatasetLayout dataset_layout(const config::Config& config);

// The class names (sorted class folders of raw_dir) and the number of outputs: model.num_classes,
// which must agree with the folders when both are known, else the folder count.
int64_t resolve_num_classes(const config::Config& config, std::vector<std::string>& class_names);

// Reads one split index file. A missing file is reported with the ml-split command that writes it.
std::vector<data::Sample> load_split(const DatasetLayout& layout, const std::string& index_file,
                                     const std::vector<std::string>& class_names);

}  // namespace mltk::pipeline
