#pragma once
// Walks a traced aten graph and converts it, node by node through the converter registry, into an
// ONNX GraphProto: graph inputs "input" (or "input_0", "input_1", ... when there are several), graph
// outputs "output" (or "output_0", ...; a returned tuple gives one per element), one initializer per
// parameter.
#include "mltk/onnx_export/opset.h"
#include "mltk/onnx_export/tensor_proto.h"
#include "mltk/onnx_export/trace.h"

#include <onnx/onnx_pb.h>

namespace mltk::onnx_export {

// `opset` must be within kMinOpset..kMaxOpset (the exporter validates its options first).
// Throws std::runtime_error starting with "Unsupported operator 'aten::NAME'" for an operator the
// registry does not know, and a runtime_error naming the operator for one it cannot convert.
// Graph inputs/outputs get no type information here; the model writer adds it. The initializers
// (one per parameter) hold no data: their tensors are added to `initializer_data`.
onnx::GraphProto convert_graph(const TracedModule& traced, int opset, DeferredInitializers& initializer_data);

}  // namespace mltk::onnx_export
