#pragma once
// 3x3 convolutions with stride 1 in a frozen inference graph, run by oneDNN's Winograd F(4x4, 3x3)
// kernels instead of its direct ones. Winograd computes such a convolution with about a quarter of
// the multiplications, at the cost of transforming inputs, weights and outputs; on AVX-512 this is
// 1.5-2.5x faster per layer for the 3x3 stages of ResNet and VGG at batch 32. The sums are formed in
// another order, so results differ from the direct kernels by float rounding (relative 1e-6 to 1e-5
// per layer), as batch-norm folding already makes the frozen graph differ from eager.
//
// The transformed weights take about four times the memory of the 3x3 weights they replace (180 MiB
// for ResNet-18 at most, 230 MiB for VGG-16), held as long as the graph.
#include <cstdint>

namespace torch::jit {
struct Graph;
}

namespace mltk::inference {

// The node kind the rewrite below inserts.
inline constexpr const char* kWinogradConvolutionKind = "mltk::winograd_conv2d";

// Replaces every aten::conv2d / aten::_convolution of `graph` whose weight is a constant float 3x3
// kernel, with stride 1, padding 1, dilation 1 and one group, by mltk::winograd_conv2d. An addition
// (ResNet's residual) and a ReLU that consume its output alone are done by the same node. Shapes for
// which oneDNN has no Winograd kernel, and non-float inputs, run through at::conv2d at call time.
// Returns how many convolutions were replaced.
int64_t use_winograd_convolutions(torch::jit::Graph& graph);

// Since the process started: input shapes for which a rewritten convolution got a Winograd kernel
// from oneDNN, and shapes that it had to run through at::conv2d instead.
struct WinogradPlans {
  int64_t on_winograd = 0;
  int64_t on_libtorch = 0;
};
WinogradPlans winograd_plans();

}  // namespace mltk::inference
