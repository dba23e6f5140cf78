#pragma once
// What a model file must satisfy before anything runs it: the ONNX checker, strict shape inference,
// and what ONNX Runtime refuses to load although onnx 1.12's checker lets it pass.
#include <onnx/onnx_pb.h>

#include <string>

namespace mltk::runtime {

// load_onnx_model, then check_onnx_model: a model this accepts is one ONNX Runtime loads.
onnx::ModelProto load_checked_onnx_model(const std::string& path);

// Throws std::runtime_error naming `path` and the first problem found: a default-domain opset
// outside the supported range, a node with two attributes of one name, an input no earlier node,
// graph input or initializer defines (which includes every cycle), a name assigned twice, a tensor
// whose data does not hold what its type and dims say, external data outside the model's folder or
// shorter than the tensor, then any failure of onnx::checker or of strict shape inference with
// type checks. Shape inference stores the inferred value_info in `model`.
void check_onnx_model(onnx::ModelProto& model, const std::string& path);

}  // namespace mltk::runtime
