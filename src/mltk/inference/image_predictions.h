#pragma once
// ml-inference --images: the predicted class of individual image files.
#include "mltk/config/config.h"
#include "mltk/pipeline/predict.h"

#include <string>
#include <vector>

namespace mltk::inference {

struct ImagePrediction {
  std::string path;
  std::string class_name;  // empty when the image could not be decoded
  float confidence = 0.0f;
  std::string error;
};

// Files as given, folders searched recursively for image files (sorted); throws for a path that
// does not exist.
std::vector<std::string> collect_images(const std::vector<std::string>& paths);

// Decodes each image, applies the evaluation transform of `config` and classifies it.
std::vector<ImagePrediction> predict_images(const pipeline::ForwardFn& forward, const std::vector<std::string>& image_paths,
                                            const config::Config& config, const std::vector<std::string>& class_names);

}  // namespace mltk::inference
