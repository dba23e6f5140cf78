#pragma once
// Puts a module in eval mode (dropout off, batch norm on running statistics) for a scope and
// restores the caller's mode however the scope ends.
#include <torch/nn/module.h>

namespace mltk::models {

class EvalModeScope {
 public:
  explicit EvalModeScope(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeScope() { module_.train(was_training_); }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

}  // namespace mltk::models
