#pragma once
// Evaluation through LibTorch's frozen-graph optimisations instead of module-by-module eager calls:
// the model is traced with its weights as constants, batch norms are folded into the convolutions
// before them, convolution + add + ReLU are fused, and convolutions and linear layers run on oneDNN
// (MKLDNN) with their weights packed once, unstrided 3x3 ones on its Winograd kernels. Same operators
// and weights, a few float roundings apart from eager (folding and Winograd change the order of
// operations).
#include "mltk/pipeline/predict.h"

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct GraphFunction;
}

namespace mltk::inference {

class FrozenForward {
 public:
  // `module` must outlive this object and stay in eval mode; `eager` runs it (and is used whenever
  // a frozen graph cannot be built for an input shape, with a warning naming why). With
  // `winograd_convolutions`, unstrided 3x3 convolutions run on oneDNN's Winograd kernels
  // (mltk/inference/winograd_convolution.h); without, every convolution runs on its direct kernels.
  FrozenForward(torch::nn::Module& module, pipeline::ForwardFn eager, bool winograd_convolutions = true);
  ~FrozenForward();
  FrozenForward(const FrozenForward&) = delete;
  FrozenForward& operator=(const FrozenForward&) = delete;

  torch::Tensor operator()(const torch::Tensor& images);

  // Node kinds of the optimised graph that runs inputs of `shape`, e.g. "prim::mkldnn_convolution";
  // empty when that shape has not been run or runs eagerly.
  std::map<std::string, int64_t> node_kinds(const std::vector<int64_t>& shape) const;

 private:
  // The graphs for one sample shape (an input's dimensions after the batch).
  struct SampleShapeGraphs {
    // Traced at batch sizes 1 and 2 (cheap) and, when both traces are the same graph, run at any
    // batch size.
    std::unique_ptr<torch::jit::GraphFunction> any_batch;
    // A graph that bakes in the batch size (a size read during the trace and used as a number, as a
    // ViT's reshapes do) is traced again for each batch size.
    bool batch_dependent = false;
    std::map<int64_t, std::unique_ptr<torch::jit::GraphFunction>> by_batch;
  };

  // The graph for `images`' shape, built on first use; nullptr when that shape runs eagerly.
  torch::jit::GraphFunction* graph_for(const torch::Tensor& images);
  const torch::jit::GraphFunction* find_graph(const std::vector<int64_t>& shape) const;

  torch::nn::Module& module_;
  pipeline::ForwardFn eager_;
  bool winograd_convolutions_;
  std::map<std::vector<int64_t>, SampleShapeGraphs> graphs_;  // by sample shape
};

}  // namespace mltk::inference
