#pragma once
// 3x3 convolutions with stride 1 in a frozen inference graph, run by oneDNN's Winograd F(4x4, 3x3)
// kernels instead of its direct ones. Winograd computes such a convolution with about a quarter of
// the multiplications, at the cost of transforming inputs, weights and outputs; on AVX-512 this is
// 1.5-4x faster per layer for the 3x3 stages of ResNet and VGG at batch 32. The sums are formed in
// another order, so results differ from the direct kernels by float rounding (relative 1e-6 to 1e-5
// per layer), as batch-norm folding already makes the frozen graph differ from eager.
//
// The transformed weights take about four times the memory of the 3x3 weights they replace, held as
// long as the graph, and oneDNN's working buffers are kept per thread: a ResNet-18 evaluation at
// batch 32 peaks about 270 MB higher than on the direct kernels.
#include <cstdint>

namespace torch::jit {
struct Graph;
}

namespace mltk::inference {

// The node kinds the rewrite below inserts: a convolution on Winograd kernels, and one on oneDNN's
// direct kernels that reads or feeds such a node in their shared blocked layout.
inline constexpr const char* kWinogradConvolutionKind = "mltk::winograd_conv2d";
inline constexpr const char* kBlockedConvolutionKind = "mltk::blocked_conv2d";

// Replaces the aten::conv2d / aten::_convolution nodes of `graph` whose weight is a constant float 3x3
// kernel, with stride 1, padding 1, dilation 1 and one group, by mltk::winograd_conv2d, where such a
// convolution reads or feeds another one: between those the activations stay in oneDNN's blocked
// layout, whereas a lone one would convert its input and output, which costs more than Winograd saves.
// Other convolutions with a constant float weight and one group that read or feed those become
// mltk::blocked_conv2d (direct kernels, same layout), so that a chain is not cut by a strided or 1x1
// convolution. An addition (ResNet's residual) and a ReLU that consume a convolution's output alone
// are done by the same node. Shapes for which oneDNN has no kernel, and non-float inputs, run through
// at::conv2d at call time. Run it after batch norms are folded and before LibTorch's MKLDNN
// conversion. Returns how many convolutions now run on Winograd.
int64_t use_winograd_convolutions(torch::jit::Graph& graph);

// Since the process started: input shapes for which a rewritten convolution got a Winograd or a
// direct kernel from oneDNN, and shapes that it had to run through at::conv2d instead.
struct WinogradPlans {
  int64_t on_winograd = 0;
  int64_t on_direct = 0;
  int64_t on_libtorch = 0;
};
WinogradPlans winograd_plans();

}  // namespace mltk::inference
