#include "mltk/onnx_export/static_quantization.h"

#include "mltk/onnx_export/model_writer.h"
#include "mltk/runtime/onnx_model_loader.h"

#include <filesystem>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// Per-axis (per output channel) DequantizeLinear arrived in opset 13.
constexpr int64_t kMinQuantizationOpset = 13;

void set_metadata(onnx::ModelProto& model, const std::map<std::string, std::string>& entries) {
  for (const auto& [key, value] : entries) {
    onnx::StringStringEntryProto* entry = nullptr;
    for (auto& existing : *model.mutable_metadata_props())
      if (existing.key() == key) entry = &existing;
    if (entry == nullptr) {
      entry = model.add_metadata_props();
      entry->set_key(key);
    }
    entry->set_value(value);
  }
}

void fix_batch_dimension(onnx::GraphProto& graph, int64_t batch) {
  for (auto* values : {graph.mutable_input(), graph.mutable_output()})
    for (auto& value : *values) {
      auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_value(batch);
    }
}

}  // namespace

StaticQuantizationReport quantize_static(const std::string& float_path, const std::string& output_path,
                                         const CalibrationBatches& batches, const StaticQuantizationOptions& options) {
  auto model = runtime::load_onnx_model(float_path);
  const int64_t opset = runtime::default_domain_opset(model);
  if (opset < kMinQuantizationOpset)
    throw std::runtime_error("int8 quantization needs opset " + std::to_string(kMinQuantizationOpset) +
                             " or later (per-channel DequantizeLinear); the model has opset " + std::to_string(opset) +
                             ": export with --opset_version 13 or higher");
  const auto plan = plan_qdq(model.graph(), options.qdq);
  if (plan.quantized_nodes.empty())
    throw std::runtime_error(float_path + " has no Conv, Gemm or MatMul with constant weights to quantize");
  const auto ranges = calibrate(float_path, plan.activations, batches, options.method);

  StaticQuantizationReport report;
  report.summary = insert_qdq(*model.mutable_graph(), plan, ranges);
  if (options.fixed_batch) fix_batch_dimension(*model.mutable_graph(), *options.fixed_batch);
  set_metadata(model, options.metadata);
  validate_model(model);
  write_model_atomically(model, output_path);
  report.float_bytes = static_cast<int64_t>(std::filesystem::file_size(float_path));
  report.quantized_bytes = static_cast<int64_t>(std::filesystem::file_size(output_path));
  return report;
}

void update_onnx_metadata(const std::string& path, const std::map<std::string, std::string>& entries) {
  auto model = runtime::load_onnx_model(path);
  set_metadata(model, entries);
  write_model_atomically(model, path);
}

}  // namespace mltk::onnx_export
