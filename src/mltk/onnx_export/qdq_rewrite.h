#pragma once
// The QDQ form of static int8 quantization as a pass over a float ONNX graph: QuantizeLinear /
// DequantizeLinear pairs around the inputs and outputs of Conv, Gemm and MatMul, whose weights
// become int8 initializers (per output channel) and biases int32 initializers, each read through a
// DequantizeLinear. Runtimes that fuse the pattern (ONNX Runtime) run those operators on integers;
// any runtime that implements the two quantization operators runs the file as it stands.
#include "mltk/onnx_export/quantization_params.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

namespace mltk::onnx_export {

struct QdqOptions {
  bool keep_first_conv_float = false;  // the convolution reading the image stays float
};

// Which nodes are quantized and which activations need calibrated ranges.
struct QdqPlan {
  std::vector<int> quantized_nodes;     // Conv/Gemm/MatMul nodes with constant weights
  std::map<int, int> folded_activations;  // quantized node -> the Relu or ReLU6 Clip its output quantization replaces
  std::vector<int> float_output_nodes;  // quantized nodes whose output stays float (the logits)
  std::vector<std::string> activations; // tensors quantized to uint8, in graph order
};

// A node is quantized when it is a Conv, a Gemm (without transA, alpha or beta) or a 2-D MatMul
// whose weight and bias are initializers. Its float input is quantized; so is its output unless it
// is a graph output (the classifier's logits stay float). An output read only by a Relu, or by a
// Clip from 0 (ReLU6), is quantized after that activation instead, and the activation is dropped:
// a uint8 zero point of 0 clips the negative values just as it did, and the calibrated range, which
// ends at or below the Clip's bound, saturates the large ones.
QdqPlan plan_qdq(const onnx::GraphProto& graph, const QdqOptions& options);

struct QdqSummary {
  int64_t quantized_nodes = 0;
  int64_t folded_activations = 0;
  int64_t quantized_activations = 0;
};

// Rewrites `graph` as planned, with the activations' ranges from calibration (every name of
// plan.activations must be in `ranges`). Needs opset 13 or later (per-axis DequantizeLinear).
QdqSummary insert_qdq(onnx::GraphProto& graph, const QdqPlan& plan, const std::map<std::string, ActivationRange>& ranges);

}  // namespace mltk::onnx_export
