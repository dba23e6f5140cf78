#include "support/onnx_edit.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace mltk::testkit {

void alter_initializer(const std::string& path, const std::string& name, float delta) {
  onnx::ModelProto model;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in || !model.ParseFromIstream(&in)) throw std::runtime_error("cannot parse ONNX file " + path);
  }
  for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.name() != name) continue;
    if (tensor.data_type() != onnx::TensorProto::FLOAT || tensor.raw_data().size() < sizeof(float))
      throw std::runtime_error("initializer '" + name + "' of " + path + " has no raw float data");
    std::string bytes = tensor.raw_data();
    float value = 0;
    std::memcpy(&value, bytes.data(), sizeof(float));
    value += delta;
    std::memcpy(bytes.data(), &value, sizeof(float));
    tensor.set_raw_data(bytes);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !model.SerializeToOstream(&out)) throw std::runtime_error("cannot write ONNX file " + path);
    return;
  }
  throw std::runtime_error("no initializer '" + name + "' in " + path);
}

}  // namespace mltk::testkit
