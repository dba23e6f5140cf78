#pragma once
// Embedded preprocessing (ml-export --preprocessing embedded): the written graph takes the pixels a
// deployment has after resizing and centre-cropping, and scales, normalises and transposes them
// itself, so that no deployment re-implements the normalisation.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/onnx_export/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <string>

namespace mltk::onnx_export {

// uint8 [N, H, W, 3] RGB pixels in, float logits [N, classes] and their softmax out.
inline constexpr const char* kImageInput = "image";
inline constexpr const char* kLogitsOutput = "logits";
inline constexpr const char* kProbabilitiesOutput = "probabilities";

// Rewrites a graph declared by declare_graph_io (float input "input" [N, 3, H, W], output "output")
// into one taking kImageInput: Cast to float, Div 255, Sub mean, Div std (constants stored in
// `initializer_data`), Transpose to NCHW, then the network, whose output becomes kLogitsOutput,
// followed by a Softmax over the classes as kProbabilitiesOutput. The batch dimension stays as it
// was declared (fixed or symbolic).
void embed_preprocessing(onnx::GraphProto& graph, const checkpoint::Normalization& normalization,
                         DeferredInitializers& initializer_data);

// The same rewrite of a written ONNX file (a quantized export, which had to be calibrated on
// normalised float batches first), checked and written back atomically.
void embed_preprocessing_in_file(const std::string& path, const checkpoint::Normalization& normalization);

}  // namespace mltk::onnx_export
