#pragma once
// ml-export --validation_data PATH: the real images an export is also validated on.
#include "mltk/validate/image_validation.h"

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

}  // namespace mltk::cli
