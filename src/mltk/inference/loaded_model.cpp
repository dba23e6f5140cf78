#include "mltk/inference/loaded_model.h"

#include "mltk/pipeline/model_builder.h"

namespace mltk::inference {
namespace {

constexpr int kUnrecordedEvalResize = 256;

}  // namespace

config::Config checkpoint_config(const checkpoint::Checkpoint& checkpoint, const std::string& path) {
  auto config = checkpoint.config.empty() ? config::default_config()
                                          : config::parse_config(checkpoint.config, path + " (config entry)");
  pipeline::check_architecture_choice(config);
  config.model.input_size = static_cast<int>(checkpoint.model.input_size);
  config.transforms.mean = checkpoint.normalization.mean;
  config.transforms.std = checkpoint.normalization.std;
  // The resize the checkpoint was evaluated with; checkpoints from before it was recorded were
  // evaluated with their configuration's value, which then defaulted to 256 whatever the input size.
  config.transforms.eval_resize = checkpoint.model.eval_resize
                                      ? static_cast<int>(*checkpoint.model.eval_resize)
                                      : config.transforms.eval_resize.value_or(kUnrecordedEvalResize);
  return config;
}

LoadedModel load_model(const std::string& path) {
  LoadedModel out;
  out.checkpoint = checkpoint::load_checkpoint(path);
  const auto& info = out.checkpoint.model;
  out.config = checkpoint_config(out.checkpoint, path);
  out.model = pipeline::create_model_with_weights({info.architecture, info.num_classes, info.input_size, std::nullopt},
                                                 out.checkpoint.model_state_dict, path);
  out.model->eval();
  return out;
}

}  // namespace mltk::inference
