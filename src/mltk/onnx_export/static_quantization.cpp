#include "mltk/onnx_export/static_quantization.h"

#include "mltk/onnx_export/model_edits.h"
#include "mltk/runtime/onnx_model_loader.h"

#include <filesystem>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

// Per-axis (per output channel) DequantizeLinear arrived in opset 13.
constexpr int64_t kMinQuantizationOpset = 13;

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
  report.quantized_bytes = write_rewritten_model(model, output_path, options.fixed_batch, options.metadata);
  report.float_bytes = static_cast<int64_t>(std::filesystem::file_size(float_path));
  return report;
}

}  // namespace mltk::onnx_export
