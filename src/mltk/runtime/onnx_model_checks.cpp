#include "mltk/runtime/onnx_model_checks.h"

#include "mltk/runtime/onnx_model_loader.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace mltk::runtime {
namespace {

namespace fs = std::filesystem;

// Subgraphs (If, Loop, Scan bodies) nest; real models stay a few levels deep.
constexpr int kMaxSubgraphDepth = 32;

class ModelChecks {
 public:
  ModelChecks(std::string path) : path_(std::move(path)), folder_(fs::path(path_).parent_path()) {
    if (folder_.empty()) folder_ = ".";
  }

  void graph(const onnx::GraphProto& graph, std::set<std::string> defined, int depth) {
    if (depth > kMaxSubgraphDepth) fail("subgraphs nest deeper than " + std::to_string(kMaxSubgraphDepth) + " levels");
    const std::string where = depth == 0 ? "the graph" : "subgraph '" + graph.name() + "'";
    for (const auto& input : graph.input()) define(defined, input.name(), where + " input");
    for (const auto& initializer : graph.initializer()) {
      tensor_data(initializer, "initializer '" + initializer.name() + "'");
      defined.insert(initializer.name());  // an initializer may also be listed as a graph input
    }
    std::set<std::string> produced_later;
    for (const auto& node : graph.node())
      for (const auto& output : node.output()) produced_later.insert(output);
    for (const auto& node : graph.node()) {
      const std::string label = node_label(node);
      for (const auto& input : node.input()) {
        if (input.empty() || defined.count(input)) continue;
        if (produced_later.count(input))
          fail(label + " reads '" + input + "' before any node computes it (the graph has a cycle or is not "
               "topologically sorted)");
        fail(label + " reads '" + input + "', which no graph input, initializer or node defines");
      }
      attributes(node, label, defined, depth);
      for (const auto& output : node.output())
        if (!output.empty()) define(defined, output, label + " output");
    }
    for (const auto& output : graph.output())
      if (!defined.count(output.name())) fail(where + " output '" + output.name() + "' is never computed");
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error("ONNX model '" + path_ + "' is invalid: " + problem);
  }

  static std::string node_label(const onnx::NodeProto& node) {
    return node.op_type() + " node" + (node.name().empty() ? "" : " '" + node.name() + "'");
  }

  void define(std::set<std::string>& defined, const std::string& name, const std::string& what) const {
    if (name.empty()) return;
    if (!defined.insert(name).second) fail(what + " '" + name + "' reuses a name already defined (ONNX names are assigned once)");
  }

  void attributes(const onnx::NodeProto& node, const std::string& label, const std::set<std::string>& defined,
                  int depth) {
    std::set<std::string> names;
    for (const auto& attribute : node.attribute()) {
      if (!names.insert(attribute.name()).second)
        fail(label + " has attribute '" + attribute.name() + "' more than once");
      // Windows and steps of convolutions and pools: ONNX's own shape inference divides by them.
      if (attribute.name() == "strides" || attribute.name() == "dilations" || attribute.name() == "kernel_shape")
        for (const int64_t value : attribute.ints())
          if (value < 1)
            fail(label + " has " + attribute.name() + " " + std::to_string(value) + "; every value must be at least 1");
      if (attribute.has_t()) tensor_data(attribute.t(), label + " attribute '" + attribute.name() + "'");
      for (const auto& tensor : attribute.tensors())
        tensor_data(tensor, label + " attribute '" + attribute.name() + "'");
      if (attribute.has_g()) graph(attribute.g(), defined, depth + 1);
      for (const auto& subgraph : attribute.graphs()) graph(subgraph, defined, depth + 1);
    }
  }

  // The element count of `tensor`'s dims, refusing negative dims and overflow.
  uint64_t element_count(const onnx::TensorProto& tensor, const std::string& what) const {
    uint64_t count = 1;
    for (int64_t dim : tensor.dims()) {
      if (dim < 0) fail(what + " has a negative dimension");
      if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count))
        fail(what + " has dims whose product overflows 64 bits");
    }
    return count;
  }

  static uint64_t fixed_element_size(int32_t type) {
    switch (type) {
      case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: return 4;
      case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64:
      case onnx::TensorProto::COMPLEX64: return 8;
      case onnx::TensorProto::COMPLEX128: return 16;
      case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16: case onnx::TensorProto::INT16:
      case onnx::TensorProto::UINT16: return 2;
      case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: case onnx::TensorProto::BOOL: return 1;
      default: return 0;  // strings and undefined: the checker judges them
    }
  }

  static uint64_t typed_field_size(const onnx::TensorProto& tensor) {
    switch (tensor.data_type()) {
      case onnx::TensorProto::FLOAT: return tensor.float_data_size();
      case onnx::TensorProto::COMPLEX64: return tensor.float_data_size() / 2;
      case onnx::TensorProto::DOUBLE: return tensor.double_data_size();
      case onnx::TensorProto::COMPLEX128: return tensor.double_data_size() / 2;
      case onnx::TensorProto::INT64: return tensor.int64_data_size();
      case onnx::TensorProto::UINT32: case onnx::TensorProto::UINT64: return tensor.uint64_data_size();
      case onnx::TensorProto::STRING: return tensor.string_data_size();
      default: return tensor.int32_data_size();
    }
  }

  void tensor_data(const onnx::TensorProto& tensor, const std::string& what) const {
    const uint64_t count = element_count(tensor, what);
    const uint64_t element_size = fixed_element_size(tensor.data_type());
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) return external_data(tensor, what, count, element_size);
    if (tensor.has_raw_data()) {
      if (element_size == 0) return;
      uint64_t expected = 0;
      if (__builtin_mul_overflow(count, element_size, &expected) || tensor.raw_data().size() != expected)
        fail(what + " holds " + std::to_string(tensor.raw_data().size()) + " bytes of data for " +
             std::to_string(count) + " elements of " + std::to_string(element_size) + " bytes");
      return;
    }
    const uint64_t stored = typed_field_size(tensor);
    if (stored != count)
      fail(what + " holds " + std::to_string(stored) + " values for dims of " + std::to_string(count) + " elements");
  }

  void external_data(const onnx::TensorProto& tensor, const std::string& what, uint64_t count,
                     uint64_t element_size) const {
    std::string location;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (const auto& entry : tensor.external_data()) {
      try {
        if (entry.key() == "location") location = entry.value();
        else if (entry.key() == "offset") offset = std::stoull(entry.value());
        else if (entry.key() == "length") length = std::stoull(entry.value()), has_length = true;
      } catch (const std::exception&) {
        fail(what + " has external data " + entry.key() + " '" + entry.value() + "', which is not a number");
      }
    }
    const fs::path relative(location);
    if (location.empty()) fail(what + " has external data without a location");
    if (relative.is_absolute())
      fail(what + " reads external data from the absolute path '" + location +
           "'; external data must be a file in the model's folder");
    for (const auto& part : relative)
      if (part == "..")
        fail(what + " reads external data from '" + location + "', outside the model's folder");
    std::error_code error;
    const fs::path file = folder_ / relative;
    const fs::path real_folder = fs::weakly_canonical(folder_, error);
    const fs::path real_file = fs::weakly_canonical(file, error);
    const auto [folder_end, file_it] =
        std::mismatch(real_folder.begin(), real_folder.end(), real_file.begin(), real_file.end());
    if (error || folder_end != real_folder.end())
      fail(what + " reads external data from '" + location + "', which resolves outside the model's folder");
    if (!fs::is_regular_file(file, error)) fail(what + " reads external data from '" + file.string() + "', which does not exist");
    const uint64_t file_size = fs::file_size(file, error);
    if (!has_length) length = file_size >= offset ? file_size - offset : 0;
    uint64_t expected = 0, end = 0;
    if (element_size != 0 && (__builtin_mul_overflow(count, element_size, &expected) || length != expected))
      fail(what + " has " + std::to_string(length) + " bytes of external data for " + std::to_string(count) +
           " elements of " + std::to_string(element_size) + " bytes");
    if (__builtin_add_overflow(offset, length, &end) || end > file_size)
      fail(what + " reads bytes " + std::to_string(offset) + ".." + std::to_string(end) + " of '" + file.string() +
           "', which holds " + std::to_string(file_size));
  }

  std::string path_;
  fs::path folder_;
};

bool has_external_data(const onnx::GraphProto& graph) {
  for (const auto& initializer : graph.initializer())
    if (initializer.data_location() == onnx::TensorProto::EXTERNAL) return true;
  return false;
}

}  // namespace

void check_onnx_model(onnx::ModelProto& model, const std::string& path) {
  try {
    default_domain_opset(model);
  } catch (const std::exception& error) {
    throw std::runtime_error("ONNX model '" + path + "': " + error.what());
  }
  ModelChecks(path).graph(model.graph(), {}, 0);
  try {
    // The checker resolves external data against the model's folder only when it reads the file.
    if (has_external_data(model.graph()))
      onnx::checker::check_model(path);
    else
      onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    throw std::runtime_error("ONNX model '" + path + "' fails the ONNX checker: " + error.what());
  }
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& error) {
    throw std::runtime_error("ONNX model '" + path + "' fails strict shape inference: " + error.what());
  }
}

onnx::ModelProto load_checked_onnx_model(const std::string& path) {
  onnx::ModelProto model = load_onnx_model(path);
  check_onnx_model(model, path);
  return model;
}

}  // namespace mltk::runtime
