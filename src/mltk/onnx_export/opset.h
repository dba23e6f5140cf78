#pragma once
// The ONNX opsets the exporter writes.

namespace mltk::onnx_export {

inline constexpr int kMinOpset = 11;
inline constexpr int kMaxOpset = 17;

}  // namespace mltk::onnx_export
