#include "mltk/runtime/onnxruntime_node.h"

#include "mltk/common/subprocess.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace mltk::runtime {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kScript = "run_model.js";
// run_model.js exits with this code when onnxruntime-node cannot be loaded.
constexpr int kExitOrtMissing = 3;

fs::path locate_tools_dir() {
  if (const char* dir = std::getenv("MLTK_ORT_DIR"); dir != nullptr && *dir != '\0') return dir;
#ifdef MLTK_ORT_TOOLS_DIR
  if (fs::exists(fs::path(MLTK_ORT_TOOLS_DIR) / kScript)) return MLTK_ORT_TOOLS_DIR;
#endif
  return fs::read_symlink("/proc/self/exe").parent_path() / "tools" / "ort";
}

std::string install_hint(const fs::path& tools_dir) {
  return fmt::format(
      "install Node.js with `apt-get install nodejs npm`, then onnxruntime-node with "
      "`cd {} && ONNXRUNTIME_NODE_INSTALL=skip npm ci` (the variable stops its install script "
      "from downloading GPU binaries)",
      tools_dir.string());
}

// Runs `node <tools_dir>/run_model.js args...`, translating the ways the bridge can be missing
// into install instructions. Other failures are returned to the caller via the exit code.
ProcessResult run_bridge(const fs::path& tools_dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"node", (tools_dir / kScript).string()});
  ProcessResult result;
  try {
    result = run_process(args);
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::no_such_file_or_directory) {
      throw std::runtime_error("ONNX Runtime needs `node`, which is not on PATH: " + install_hint(tools_dir));
    }
    throw;
  }
  if (result.exit_code == kExitOrtMissing) {
    throw std::runtime_error(fmt::format("onnxruntime-node is not installed in {}: {}\n{}", tools_dir.string(),
                                         install_hint(tools_dir), result.err));
  }
  return result;
}

const char* dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return "float32";
    case torch::kInt64:
      return "int64";
    default:
      throw std::runtime_error(fmt::format("onnxruntime bridge supports float32 and int64 tensors, got {}",
                                           c10::toString(type)));
  }
}

torch::ScalarType dtype_from_name(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "int64") return torch::kInt64;
  throw std::runtime_error("onnxruntime bridge returned unsupported dtype " + name);
}

void write_file(const fs::path& file, const void* data, size_t size) {
  std::ofstream out(file, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

torch::Tensor read_tensor(const fs::path& file, const std::vector<int64_t>& dims, torch::ScalarType dtype) {
  torch::Tensor tensor = torch::empty(dims, torch::TensorOptions().dtype(dtype));
  const std::string bytes = read_file(file);
  if (bytes.size() != tensor.nbytes()) {
    throw std::runtime_error(fmt::format("{} has {} bytes, expected {}", file.string(), bytes.size(), tensor.nbytes()));
  }
  std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  return tensor;
}

}  // namespace

OnnxRuntimeNode::OnnxRuntimeNode(fs::path model_path, int intra_op_threads)
    : model_path_(fs::absolute(std::move(model_path))),
      intra_op_threads_(intra_op_threads),
      tools_dir_(fs::absolute(locate_tools_dir())) {
  if (!fs::is_regular_file(model_path_)) throw std::runtime_error("ONNX model not found: " + model_path_.string());
  if (!fs::is_regular_file(tools_dir_ / kScript)) {
    throw std::runtime_error(fmt::format(
        "{} not found in {}: set MLTK_ORT_DIR to mltk's tools/ort directory, then {}", kScript,
        tools_dir_.string(), install_hint(tools_dir_)));
  }
  const ProcessResult probe = run_bridge(tools_dir_, {"--version"});
  if (probe.exit_code != 0) {
    throw std::runtime_error(fmt::format("onnxruntime bridge failed (exit {}): {}", probe.exit_code, probe.err));
  }
  version_ = json::parse(probe.out).at("onnxruntime").get<std::string>();
}

std::string OnnxRuntimeNode::name() const { return "onnxruntime " + version_; }

std::vector<torch::Tensor> OnnxRuntimeNode::run(const std::vector<torch::Tensor>& inputs) {
  TempDir work("mltk-ort");
  json request = {{"model", model_path_.string()},
                  {"inputs", json::array()},
                  {"outputs_dir", "outputs"},
                  {"threads", intra_op_threads_}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const torch::Tensor tensor = inputs[i].to(torch::kCPU).contiguous();
    const std::string file = fmt::format("input_{}.bin", i);
    request["inputs"].push_back({{"dims", tensor.sizes().vec()}, {"dtype", dtype_name(tensor.scalar_type())}, {"file", file}});
    write_file(work.path() / file, tensor.data_ptr(), tensor.nbytes());
  }
  const fs::path request_file = work.path() / "request.json";
  const std::string request_text = request.dump();
  write_file(request_file, request_text.data(), request_text.size());

  const ProcessResult result = run_bridge(tools_dir_, {request_file.string()});
  if (result.exit_code != 0) {
    throw std::runtime_error(fmt::format("onnxruntime failed on {} (exit {}): {}", model_path_.string(),
                                         result.exit_code, result.err));
  }

  const fs::path outputs_dir = work.path() / "outputs";
  const json manifest = json::parse(read_file(outputs_dir / "result.json"));
  std::vector<torch::Tensor> outputs;
  for (const auto& output : manifest.at("outputs")) {
    outputs.push_back(read_tensor(outputs_dir / output.at("file").get<std::string>(),
                                  output.at("dims").get<std::vector<int64_t>>(),
                                  dtype_from_name(output.at("dtype").get<std::string>())));
  }
  return outputs;
}

}  // namespace mltk::runtime
