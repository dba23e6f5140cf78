#pragma once
// Public entry point: export any torch::nn::Module with a Tensor -> Tensor forward to an ONNX file
// by tracing one forward pass and converting the recorded aten graph.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/models/classifier.h"
#include "mltk/onnx_export/trace.h"

#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mltk::onnx_export {

// What every export takes, whatever the model's origin.
struct TracedExportOptions {
  int opset = 14;  // 11..17
  int64_t batch_size = 1;
  // Dimension 0 of every input and output becomes "batch_size". The export fails if the traced graph
  // depends on the batch size (checked by tracing a second time at another batch size).
  bool dynamic_batch = false;
  // When set, the graph takes uint8 [N, H, W, 3] pixels and normalises them itself, and outputs
  // logits and probabilities (embedded_preprocessing.h).
  std::optional<checkpoint::Normalization> embedded_preprocessing;
  // Stored as the model's metadata_props (class names, input size, mean/std, architecture, ...).
  std::map<std::string, std::string> metadata;
};

struct ExportOptions : TracedExportOptions {
  std::vector<int64_t> input_shape{3, 224, 224};  // C, H, W
};

// Wall time of one step of export_to_onnx, e.g. {"trace", 41.2}.
struct ExportPhase {
  std::string name;
  double ms = 0;
};

struct ExportReport {
  std::string path;
  int64_t node_count = 0;
  int64_t initializer_count = 0;
  int64_t folded_batch_norms = 0;
  std::map<std::string, int64_t> aten_ops;  // operators of the traced graph, e.g. "aten::conv2d"
  std::map<std::string, int64_t> onnx_ops;  // operators of the written graph, e.g. "Conv"
  double elapsed_ms = 0;
  std::vector<ExportPhase> phases;  // in the order they ran; their times add up to about elapsed_ms
};

// The model's graph traced (or lowered) on example inputs of the given batch size.
using TraceAtBatch = std::function<TracedModule(int64_t batch_size)>;

// Converts the graph `trace` returns at options.batch_size (and, for a dynamic batch, checks that the
// trace at another batch size converts to the same ONNX nodes), optimises, validates and writes it.
ExportReport export_traced(const TraceAtBatch& trace, const std::string& output_path, const TracedExportOptions& options);

// Traces `forward` (which must run `module`) on a random input of shape
// [batch_size, input_shape...] in eval mode, converts, optimises, validates and writes the model.
// Initializers carry the module's parameter and buffer names.
ExportReport export_to_onnx(torch::nn::Module& module, const ForwardFn& forward, const std::string& output_path,
                            const ExportOptions& options);

ExportReport export_to_onnx(models::ClassifierImpl& model, const std::string& output_path,
                            const ExportOptions& options);

}  // namespace mltk::onnx_export
