#pragma once
// Dynamic int8 quantization of an exported float ONNX file, the form ONNX Runtime's
// quantize_dynamic writes: the weights of Gemm and MatMul become int8 constants (symmetric, one
// scale per output column) and the activation each of them reads is quantized to uint8 while the
// model runs (DynamicQuantizeLinear), over that activation's own range, so no calibration images
// are needed. Convolutions stay float: the mode suits transformers, whose work is matrix products.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mltk::onnx_export {

// Rewrites every Gemm (without transA, alpha or beta) and MatMul whose weight is a 2-D float
// initializer, read directly or through a Transpose, into
//   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zero_point) -> Cast(float)
//   -> Mul(x_scale * W_scale) [-> Add(bias)]
// with one DynamicQuantizeLinear per quantized activation. Returns the number of rewritten nodes.
int64_t insert_dynamic_quantization(onnx::GraphProto& graph);

struct DynamicQuantizationOptions {
  std::optional<int64_t> fixed_batch;          // as StaticQuantizationOptions::fixed_batch
  std::map<std::string, std::string> metadata;  // added to (or replacing) the float file's metadata_props
};

struct DynamicQuantizationReport {
  int64_t quantized_nodes = 0;
  int64_t float_bytes = 0;
  int64_t quantized_bytes = 0;
};

// Reads the float model at `float_path`, rewrites it and writes it atomically to `output_path`.
// Throws std::runtime_error when the model has nothing to quantize or the result is invalid.
DynamicQuantizationReport quantize_dynamic(const std::string& float_path, const std::string& output_path,
                                           const DynamicQuantizationOptions& options);

}  // namespace mltk::onnx_export
