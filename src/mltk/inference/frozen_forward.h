#pragma once
// Evaluation through LibTorch's frozen-graph optimisations instead of module-by-module eager calls:
// the model is traced once per input shape with its weights as constants, batch norms are folded
// into the convolutions before them, convolution + add + ReLU are fused, and convolutions and linear
// layers run on oneDNN (MKLDNN) with their weights packed once. Same operators and weights, a few
// float roundings apart from eager (the folding changes the order of operations).
#include "mltk/pipeline/predict.h"

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <vector>

namespace torch::jit {
struct GraphFunction;
}

namespace mltk::inference {

class FrozenForward {
 public:
  // `module` must outlive this object and stay in eval mode; `eager` runs it (and is used whenever
  // a frozen graph cannot be built for an input shape, with a warning naming why).
  FrozenForward(torch::nn::Module& module, pipeline::ForwardFn eager);
  ~FrozenForward();
  FrozenForward(const FrozenForward&) = delete;
  FrozenForward& operator=(const FrozenForward&) = delete;

  torch::Tensor operator()(const torch::Tensor& images);

  // Node kinds of the optimised graph for `shape`, e.g. "prim::mkldnn_convolution"; empty when that
  // shape has not been run or fell back to eager.
  std::map<std::string, int64_t> node_kinds(const std::vector<int64_t>& shape) const;

 private:
  torch::nn::Module& module_;
  pipeline::ForwardFn eager_;
  // Graphs bake in sizes read during the trace (a flatten's, a ViT's token count), so one per shape;
  // a null entry means the shape runs eagerly.
  std::map<std::vector<int64_t>, std::unique_ptr<torch::jit::GraphFunction>> frozen_;
};

}  // namespace mltk::inference
