#include "mltk/train/optimizer.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>
#include <stdexcept>

namespace mltk::train {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::Config::Optimizer& options,
                                                        const std::vector<torch::Tensor>& parameters) {
  if (options.name == "sgd") {
    return std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(options.lr)
                                                               .momentum(options.momentum)
                                                               .nesterov(options.nesterov)
                                                               .weight_decay(options.weight_decay));
  }
  if (options.name == "adam")
    return std::make_unique<torch::optim::Adam>(parameters,
                                                torch::optim::AdamOptions(options.lr).weight_decay(options.weight_decay));
  if (options.name == "adamw")
    return std::make_unique<torch::optim::AdamW>(parameters,
                                                 torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
  throw std::invalid_argument("optimizer.name: unknown optimizer '" + options.name + "' (sgd, adam or adamw)");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double learning_rate(const torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().front().options().get_lr();
}

std::string serialize_optimizer(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void deserialize_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream stream(bytes);
  archive.load_from(stream);
  optimizer.load(archive);
}

}  // namespace mltk::train
