#include "mltk/pipeline/transform_options.h"

namespace mltk::pipeline {

data::TrainTransformOptions train_transform_options(const config::Config& config) {
  const auto& t = config.transforms;
  data::TrainTransformOptions options;
  options.size = config.model.input_size;
  options.crop_scale = t.crop_scale;
  options.crop_ratio = t.crop_ratio;
  options.horizontal_flip = t.horizontal_flip;
  options.jitter = {t.brightness, t.contrast, t.saturation, t.hue};
  options.mean = t.mean;
  options.std = t.std;
  return options;
}

data::EvalTransformOptions eval_transform_options(const config::Config& config) {
  return {config.resolved_eval_resize(), config.model.input_size, config.transforms.mean, config.transforms.std};
}

}  // namespace mltk::pipeline
