#pragma once
// ml-export --validation_data PATH: the real images an export is also validated on.
#include "mltk/validate/image_validation.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mltk::checkpoint {
struct Checkpoint;
}

namespace mltk::cli {

// PATH is an image file, a folder searched recursively for images, or a split index file as
// ml-split writes it (paths relative to the dataset's raw folder: the raw/ folder beside the
// index's splits/ folder, else the raw folder of the checkpoint's configuration). Images are
// resized and cropped with the checkpoint's evaluation transform and left unnormalised, as
// ValidationImages describes. An image whose parent folder is named
// after one of the checkpoint's classes counts as labelled with that class. Throws naming PATH
// when it does not exist or holds no image.
validate::ValidationImages load_validation_data(const std::string& path, const checkpoint::Checkpoint& checkpoint,
                                                const std::string& checkpoint_path);

// As load_validation_data for the images given by `flag` (named in errors, e.g.
// "--calibration_data"); with `max_images`, a seeded random choice of at most that many images.
validate::ValidationImages load_image_data(const std::string& flag, const std::string& path,
                                           const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path,
                                           std::optional<int64_t> max_images);

// The index files ml-split wrote for the checkpoint's dataset: the training index of its fold
// (what calibration defaults to) and the test index (what a quantized file is validated on by
// default). Absent when the checkpoint's configuration names no dataset or the file does not exist.
std::optional<std::string> training_index_of(const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path);
std::optional<std::string> test_index_of(const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path);

}  // namespace mltk::cli
