#pragma once
// Clean-up passes on the converted ONNX graph, run before the model is checked and written.
#include "mltk/onnx_export/tensor_proto.h"

#include <onnx/onnx_pb.h>

namespace mltk::onnx_export {

// Folds each eval-mode BatchNormalization whose input comes only from a Conv into that Conv:
// W' = W * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps). The conv keeps its
// weight initializer name; a conv without bias gets one named after its weight ("x.weight" -> "x.bias").
// Initializers are read from `initializer_data` when it holds them, else from the graph; the folded
// weights and biases are stored in `initializer_data`. Returns how many BatchNormalization nodes were folded.
int fold_batch_norm_into_conv(onnx::GraphProto& graph, DeferredInitializers& initializer_data);

// Removes Identity nodes (eval-mode dropout, contiguous, ...) by wiring consumers to their input.
void remove_identities(onnx::GraphProto& graph);

// Removes nodes and initializers that do not contribute to a graph output.
void remove_dead_nodes(onnx::GraphProto& graph);

}  // namespace mltk::onnx_export
