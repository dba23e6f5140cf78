#pragma once
// Turns a converted graph into a validated ModelProto and writes it to disk.
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

namespace mltk::onnx_export {

// Declares the float32 graph input "input" and output "output" with the traced shapes; with
// `dynamic_batch`, dimension 0 of both is the symbolic "batch_size".
void declare_graph_io(onnx::GraphProto& graph, const std::vector<int64_t>& input_shape,
                      const std::vector<int64_t>& output_shape, bool dynamic_batch);

// The IR version released together with `opset` (what onnx's checker expects as a minimum).
int64_t ir_version_for_opset(int opset);

onnx::ModelProto build_model(onnx::GraphProto graph, int opset, const std::map<std::string, std::string>& metadata);

// onnx::checker::check_model, then strict shape inference with type checks (which also stores the
// inferred value_info in the model). Throws std::runtime_error naming the failed check.
void validate_model(onnx::ModelProto& model);

// Writes to a temporary file in the destination directory, syncs it and renames it over `path`,
// so a reader never sees a partially written model.
void write_model_atomically(const onnx::ModelProto& model, const std::string& path);

}  // namespace mltk::onnx_export
