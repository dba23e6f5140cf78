#pragma once
// Deliberately damaging ONNX files, to check that validation notices.
#include <string>

namespace mltk::testkit {

// Adds `delta` to the first element of the float initializer `name` of the ONNX file at `path`
// (read and rewritten with protobuf, nothing else changes). Throws when there is no such
// initializer with raw float data.
void alter_initializer(const std::string& path, const std::string& name, float delta);

}  // namespace mltk::testkit
