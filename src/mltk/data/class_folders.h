#pragma once
#include <string>
#include <vector>

namespace mltk::data {

// Class names of an image-folder dataset: the sorted names of the sub-folders of `raw_dir` (as
// torchvision's ImageFolder orders them). A raw folder holding `train/` (and `val/`) with class
// folders inside, as the hymenoptera download does, yields the classes of `train/`. Throws naming
// the folder when it does not exist or holds no class folders.
std::vector<std::string> discover_classes(const std::string& raw_dir);

}  // namespace mltk::data
