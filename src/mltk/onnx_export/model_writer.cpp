#include "mltk/onnx_export/model_writer.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace mltk::onnx_export {
namespace {

void declare_float_tensor(onnx::ValueInfoProto& info, const std::string& name, const std::vector<int64_t>& shape,
                          bool dynamic_batch) {
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* dims = tensor->mutable_shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i == 0 && dynamic_batch)
      dims->add_dim()->set_dim_param("batch_size");
    else
      dims->add_dim()->set_dim_value(shape[i]);
  }
}

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error("cannot " + what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

void declare_graph_io(onnx::GraphProto& graph, const std::vector<int64_t>& input_shape,
                      const std::vector<int64_t>& output_shape, bool dynamic_batch) {
  graph.clear_input();
  graph.clear_output();
  declare_float_tensor(*graph.add_input(), "input", input_shape, dynamic_batch);
  declare_float_tensor(*graph.add_output(), "output", output_shape, dynamic_batch);
}

int64_t ir_version_for_opset(int opset) {
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

onnx::ModelProto build_model(onnx::GraphProto graph, int opset, const std::map<std::string, std::string>& metadata) {
  onnx::ModelProto model;
  model.set_ir_version(ir_version_for_opset(opset));
  model.set_producer_name("mltk");
  model.set_producer_version(MLTK_VERSION);
  auto* opset_import = model.add_opset_import();
  opset_import->set_domain("");
  opset_import->set_version(opset);
  for (const auto& [key, value] : metadata) {
    auto* entry = model.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  *model.mutable_graph() = std::move(graph);
  return model;
}

void validate_model(onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("the exported model fails onnx::checker::check_model: ") + error.what());
  }
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("the exported model fails strict ONNX shape inference: ") + error.what());
  }
}

void write_model_atomically(const onnx::ModelProto& model, const std::string& path) {
  const auto target = std::filesystem::absolute(path);
  if (!target.parent_path().empty()) std::filesystem::create_directories(target.parent_path());
  auto temporary = target.string() + ".XXXXXX";
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) throw io_error("create a temporary file next to", target.string());
  const bool written = model.SerializeToFileDescriptor(fd);
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) {
    const auto error = io_error(written ? "sync" : "write", temporary);
    std::filesystem::remove(temporary);
    throw error;
  }
  // mkstemp creates the file 0600; a model is an ordinary shared artefact.
  ::chmod(temporary.c_str(), 0644);
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    const auto error = io_error("rename the model into", target.string());
    std::filesystem::remove(temporary);
    throw error;
  }
}

}  // namespace mltk::onnx_export
