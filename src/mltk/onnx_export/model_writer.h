#pragma once
// Turns a converted graph into a validated ModelProto and writes it to disk.
#include "mltk/onnx_export/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

namespace mltk::onnx_export {

// A graph input or output: its name, traced shape and element type.
struct GraphIo {
  std::string name;
  std::vector<int64_t> shape;
  at::ScalarType dtype = at::kFloat;
  // Dimensions declared symbolic (dim_param, e.g. "batch_size") instead of their traced size.
  std::map<size_t, std::string> symbolic_dims;
};

// Declares the graph's inputs and outputs, replacing any declared before.
void declare_graph_io(onnx::GraphProto& graph, const std::vector<GraphIo>& inputs, const std::vector<GraphIo>& outputs);

// The IR version released together with `opset` (what onnx's checker expects as a minimum).
int64_t ir_version_for_opset(int opset);

onnx::ModelProto build_model(onnx::GraphProto graph, int opset, const std::map<std::string, std::string>& metadata);

// onnx::checker::check_model, then strict shape inference with type checks (which also stores the
// inferred value_info in the model). Throws std::runtime_error naming the failed check.
// `deferred` holds the data of the initializers the model declares without it.
void validate_model(onnx::ModelProto& model, const DeferredInitializers& deferred = {});

// Writes to a temporary file in the destination directory, syncs it and renames it over `path`,
// so a reader never sees a partially written model. The initializers named in `deferred` get
// their tensor's bytes as raw_data: the file is exactly what the model with that data serializes to.
void write_model_atomically(const onnx::ModelProto& model, const std::string& path,
                            const DeferredInitializers& deferred = {});

}  // namespace mltk::onnx_export
