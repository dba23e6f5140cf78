#pragma once
// The image transforms a configuration describes (model.input_size and the transforms section).
#include "mltk/config/config.h"
#include "mltk/data/transforms.h"

namespace mltk::pipeline {

data::TrainTransformOptions train_transform_options(const config::Config& config);
data::EvalTransformOptions eval_transform_options(const config::Config& config);

}  // namespace mltk::pipeline
