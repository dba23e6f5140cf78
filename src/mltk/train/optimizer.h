#pragma once
// The optimizer a configuration names (optimizer.*), and access to its learning rate, which the
// schedulers set once per epoch.
#include "mltk/config/config.h"

#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

namespace mltk::train {

// SGD (momentum, nesterov, weight_decay), Adam or AdamW over `parameters` at optimizer.lr.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::Config::Optimizer& options,
                                                        const std::vector<torch::Tensor>& parameters);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
double learning_rate(const torch::optim::Optimizer& optimizer);

// The optimizer's state (momentum buffers, Adam moments, step counts) as bytes, so that it can be
// stored in a checkpoint and restored into an optimizer built over the same parameters.
std::string serialize_optimizer(torch::optim::Optimizer& optimizer);
void deserialize_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes);

}  // namespace mltk::train
