#pragma once
// Picks the ONNX runtime a command-line user asked for by name.
#include "mltk/runtime/onnx_runner.h"

#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace mltk::runtime {

// The names accepted by make_onnx_runner, for help texts and flag checks.
const std::vector<std::string>& onnx_runner_names();  // {"reference", "onnxruntime"}

// Opens `model_path` in the runtime `name` ("reference" or "onnxruntime"). `threads` is passed to
// ONNX Runtime as its intra-op thread count (0 lets it choose). Throws std::invalid_argument for
// an unknown name, std::runtime_error when the runtime or the model cannot be loaded.
std::unique_ptr<OnnxRunner> make_onnx_runner(const std::string& name, const std::string& model_path, int threads = 0);
// The same for a model already loaded from `model_path`: the reference evaluator takes it over
// instead of reading the file again; ONNX Runtime still reads the file.
std::unique_ptr<OnnxRunner> make_onnx_runner(const std::string& name, onnx::ModelProto&& loaded_model,
                                             const std::string& model_path, int threads = 0);

}  // namespace mltk::runtime
