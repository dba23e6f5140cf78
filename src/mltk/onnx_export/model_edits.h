#pragma once
// Edits of a finished ONNX model that rewrites of the float export share: its metadata and the
// batch dimension of its inputs and outputs.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mltk::onnx_export {

// Sets (or replaces) metadata_props entries of `model`.
void set_metadata(onnx::ModelProto& model, const std::map<std::string, std::string>& entries);

// Gives dimension 0 of every graph input and output the fixed value `batch`.
void fix_batch_dimension(onnx::GraphProto& graph, int64_t batch);

// The end of a rewrite of the float export: fixes the batch dimension when given, sets the
// metadata, checks the model and writes it atomically to `output_path`. Returns the written size.
int64_t write_rewritten_model(onnx::ModelProto& model, const std::string& output_path,
                              std::optional<int64_t> fixed_batch, const std::map<std::string, std::string>& metadata);

// Sets (or replaces) metadata_props of the ONNX file at `path` and rewrites it atomically.
void update_onnx_metadata(const std::string& path, const std::map<std::string, std::string>& entries);

}  // namespace mltk::onnx_export
