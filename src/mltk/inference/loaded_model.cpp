#include "mltk/inference/loaded_model.h"

#include "mltk/models/zoo.h"

namespace mltk::inference {

LoadedModel load_model(const std::string& path) {
  LoadedModel out;
  out.checkpoint = checkpoint::load_checkpoint(path);
  const auto& info = out.checkpoint.model;
  out.config = out.checkpoint.config.empty() ? config::default_config()
                                             : config::parse_config(out.checkpoint.config, path + " (config entry)");
  out.config.model.input_size = static_cast<int>(info.input_size);
  out.config.transforms.mean = out.checkpoint.normalization.mean;
  out.config.transforms.std = out.checkpoint.normalization.std;
  out.model = models::create_model({info.architecture, info.num_classes, info.input_size});
  checkpoint::load_state_dict(*out.model, out.checkpoint.model_state_dict, path);
  out.model->eval();
  return out;
}

}  // namespace mltk::inference
