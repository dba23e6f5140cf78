#include "mltk/inference/image_predictions.h"

#include "mltk/data/image_io.h"
#include "mltk/data/splitter.h"
#include "mltk/data/transforms.h"
#include "mltk/pipeline/transform_options.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace mltk::inference {

std::vector<std::string> collect_images(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& path : paths) {
    if (fs::is_regular_file(path)) {
      out.push_back(path);
    } else if (fs::is_directory(path)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::recursive_directory_iterator(path))
        if (entry.is_regular_file() && data::has_image_extension(entry.path().string()))
          found.push_back(entry.path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      throw std::runtime_error("--images: " + path + " does not exist");
    }
  }
  return out;
}

std::vector<ImagePrediction> predict_images(const pipeline::ForwardFn& forward, const std::vector<std::string>& image_paths,
                                            const config::Config& config, const std::vector<std::string>& class_names) {
  torch::NoGradGuard no_grad;
  const data::EvalTransform transform(pipeline::eval_transform_options(config));
  // The evaluation transform draws no random numbers; the generator only satisfies the interface.
  data::Random unused(0);
  std::vector<ImagePrediction> out;
  for (const auto& path : image_paths) {
    ImagePrediction prediction;
    prediction.path = path;
    const auto decoded = data::decode_image(path, transform.min_input_short_side());
    if (!decoded.ok()) {
      prediction.error = decoded.error;
    } else {
      const auto probabilities = torch::softmax(forward(transform(decoded.rgb, unused).unsqueeze(0)).to(torch::kFloat), 1);
      const auto [confidence, index] = probabilities.max(1);
      prediction.class_name = class_names.at(index.item<int64_t>());
      prediction.confidence = confidence.item<float>();
    }
    out.push_back(prediction);
  }
  return out;
}

}  // namespace mltk::inference
