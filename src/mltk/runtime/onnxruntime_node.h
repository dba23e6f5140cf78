#pragma once
// ONNX Runtime through Node: no C/C++ ONNX Runtime is available from Debian, so models run in one
// long-lived `node tools/ort/run_model.js --serve` process per runner, holding one ONNX Runtime
// session; tensors travel over its stdin and stdout as binary frames (see ort_frames.h).
#include "mltk/common/child_process.h"
#include "mltk/runtime/onnx_runner.h"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace mltk::runtime {

struct OnnxRuntimeNodeOptions {
  int intra_op_threads = 0;                  // 0 lets ONNX Runtime choose
  std::string graph_optimization = "all";    // ONNX Runtime's level: disabled, basic, extended or all
  // How long loading the model into a session, and then each run(), may take before the process
  // counts as hung and is killed. Generous: a large model at a large batch on a busy machine
  // takes minutes.
  std::chrono::milliseconds load_timeout = std::chrono::minutes(10);
  std::chrono::milliseconds run_timeout = std::chrono::minutes(10);
};

class OnnxRuntimeNode : public OnnxRunner {
 public:
  // Starts the Node process and creates the session, throwing std::runtime_error with install
  // instructions when node or onnxruntime-node is missing, and with ONNX Runtime's own message when
  // it refuses the model. run_model.js is looked up in $MLTK_ORT_DIR if set, else in the source
  // tree's tools/ort baked in at build time if it still exists, else in tools/ort next to the
  // running executable.
  explicit OnnxRuntimeNode(std::filesystem::path model_path, int intra_op_threads = 0);
  OnnxRuntimeNode(std::filesystem::path model_path, OnnxRuntimeNodeOptions options);
  // Ends the Node process (killed and reaped; none is left behind).
  ~OnnxRuntimeNode() override;

  std::string name() const override;  // "onnxruntime <version>"
  // Accepts float32, float64, int64, int32, uint8, int8 and bool tensors (any device, any layout;
  // they are copied to CPU). Once the process has died or timed out, every call throws.
  std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs) override;

  // Runs `inputs` `warmup` times untimed, then `runs` times, each timed inside the Node process
  // around ONNX Runtime's session.run alone (the pipe transfer is left out). Returns the `runs`
  // latencies in milliseconds, in run order. Fails like run().
  std::vector<double> time_runs(const std::vector<torch::Tensor>& inputs, int runs, int warmup);

  // The Node process's id while it runs, -1 after a failure ended it.
  pid_t process_id() const;

 private:
  // One exchange with the process: what it is doing (for messages) and by when it must answer.
  struct Step {
    const char* what;  // "loading", "running a batch of"
    std::chrono::milliseconds timeout;
    ChildProcess::Clock::time_point deadline;
  };
  // Sends a request header (a "run" or "time" op) with the inputs as its payload, and returns the
  // reply's header after turning an error reply into an exception.
  nlohmann::json exchange(nlohmann::json request, const std::vector<torch::Tensor>& inputs, const Step& step);
  nlohmann::json receive_header(const Step& step);
  void send(const void* data, size_t size, const Step& step);
  void receive(void* data, size_t size, const Step& step);
  // Ends the process after a transfer failed, remembers why and throws that message.
  [[noreturn]] void fail(ChildProcess::Io io, const Step& step);
  [[noreturn]] void fail_with(const std::string& message);

  std::filesystem::path model_path_;
  OnnxRuntimeNodeOptions options_;
  std::filesystem::path tools_dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string version_;
  std::string failure_;  // why the process is gone, repeated by later run() calls
};

}  // namespace mltk::runtime
