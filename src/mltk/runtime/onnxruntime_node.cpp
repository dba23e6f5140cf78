#include "mltk/runtime/onnxruntime_node.h"

#include "mltk/common/tools_folder.h"
#include "mltk/runtime/ort_frames.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace mltk::runtime {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = ChildProcess::Clock;

namespace {

constexpr const char* kScript = "run_model.js";
// run_model.js exits with this code when onnxruntime-node cannot be loaded.
constexpr int kExitOrtMissing = 3;
// How long a process that closed its output may take to exit before it is killed.
constexpr auto kExitGrace = std::chrono::seconds(2);

fs::path locate_tools_dir() {
#ifdef MLTK_ORT_TOOLS_DIR
  const std::string source_tree = MLTK_ORT_TOOLS_DIR;
#else
  const std::string source_tree;
#endif
  return locate_tools_folder("MLTK_ORT_DIR", source_tree, "ort", kScript);
}

std::string install_hint(const fs::path& tools_dir) {
  return fmt::format(
      "install Node.js with `apt-get install nodejs npm`, then onnxruntime-node with "
      "`cd {} && ONNXRUNTIME_NODE_INSTALL=skip npm ci` (the variable stops its install script "
      "from downloading GPU binaries)",
      tools_dir.string());
}

std::string stderr_excerpt(const std::string& tail) {
  return tail.empty() ? "it wrote nothing to stderr" : "its stderr ended with:\n" + tail;
}

}  // namespace

OnnxRuntimeNode::OnnxRuntimeNode(fs::path model_path, int intra_op_threads)
    : OnnxRuntimeNode(std::move(model_path), OnnxRuntimeNodeOptions{intra_op_threads}) {}

OnnxRuntimeNode::OnnxRuntimeNode(fs::path model_path, OnnxRuntimeNodeOptions options)
    : model_path_(fs::absolute(std::move(model_path))),
      options_(std::move(options)),
      tools_dir_(fs::absolute(locate_tools_dir())) {
  if (!fs::is_regular_file(model_path_)) throw std::runtime_error("ONNX model not found: " + model_path_.string());
  if (!fs::is_regular_file(tools_dir_ / kScript)) {
    throw std::runtime_error(fmt::format(
        "{} not found in {}: set MLTK_ORT_DIR to mltk's tools/ort directory, then {}", kScript,
        tools_dir_.string(), install_hint(tools_dir_)));
  }
  try {
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "node", (tools_dir_ / kScript).string(), "--serve", model_path_.string(), "--threads",
        std::to_string(options_.intra_op_threads), "--optimization", options_.graph_optimization});
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::no_such_file_or_directory) {
      throw std::runtime_error("ONNX Runtime needs `node`, which is not on PATH: " + install_hint(tools_dir_));
    }
    throw;
  }

  const json ready = receive_header({"loading", options_.load_timeout, Clock::now() + options_.load_timeout});
  if (ready.value("op", "") == "error") {
    fail_with(fmt::format("ONNX Runtime refused {}: {}", model_path_.string(), ready.value("message", "(no message)")));
  }
  version_ = ready.value("onnxruntime", "?");
}

OnnxRuntimeNode::~OnnxRuntimeNode() = default;

std::string OnnxRuntimeNode::name() const { return "onnxruntime " + version_; }

pid_t OnnxRuntimeNode::process_id() const { return process_ ? process_->pid() : -1; }

void OnnxRuntimeNode::fail_with(const std::string& message) {
  if (process_) process_->stop(Clock::now() + kExitGrace);
  process_.reset();
  failure_ = message;
  throw std::runtime_error(message);
}

void OnnxRuntimeNode::fail(ChildProcess::Io io, const Step& step) {
  const pid_t pid = process_->pid();
  if (io == ChildProcess::Io::kTimedOut) {
    const std::string how = process_->stop(Clock::now());
    fail_with(fmt::format("ONNX Runtime did not answer within {} s while {} {}; its process (node, pid {}) {}; {}",
                          step.timeout.count() / 1000.0, step.what, model_path_.string(), pid, how,
                          stderr_excerpt(process_->stderr_tail())));
  }
  const std::string how = process_->stop(Clock::now() + kExitGrace);
  if (process_->exit_code() == kExitOrtMissing) {
    fail_with(fmt::format("onnxruntime-node is not installed in {}: {}\n{}", tools_dir_.string(),
                          install_hint(tools_dir_), process_->stderr_tail()));
  }
  fail_with(fmt::format("the ONNX Runtime process (node, pid {}) {} while {} {}; {}", pid, how, step.what,
                        model_path_.string(), stderr_excerpt(process_->stderr_tail())));
}

void OnnxRuntimeNode::send(const void* data, size_t size, const Step& step) {
  const auto io = process_->write(data, size, step.deadline);
  if (io != ChildProcess::Io::kDone) fail(io, step);
}

void OnnxRuntimeNode::receive(void* data, size_t size, const Step& step) {
  const auto io = process_->read(data, size, step.deadline);
  if (io != ChildProcess::Io::kDone) fail(io, step);
}

json OnnxRuntimeNode::receive_header(const Step& step) {
  unsigned char prefix[4];
  receive(prefix, sizeof prefix, step);
  try {
    std::string text(ort_frames::decode_header_length(prefix), '\0');
    receive(text.data(), text.size(), step);
    return json::parse(text);
  } catch (const json::exception& e) {
    fail_with(fmt::format("the ONNX Runtime bridge sent a malformed reply while {} {}: {}", step.what,
                          model_path_.string(), e.what()));
  } catch (const std::runtime_error& e) {
    if (process_) fail_with(fmt::format("{} (while {} {})", e.what(), step.what, model_path_.string()));
    throw;
  }
}

json OnnxRuntimeNode::exchange(json request, const std::vector<torch::Tensor>& inputs, const Step& step) {
  if (!process_) throw std::runtime_error("ONNX Runtime can no longer run " + model_path_.string() + ": " + failure_);
  std::vector<torch::Tensor> cpu_inputs;
  for (const auto& input : inputs) cpu_inputs.push_back(input.to(torch::kCPU).contiguous());
  request["inputs"] = ort_frames::input_specs(cpu_inputs);
  const std::string header = ort_frames::encode_header(request);

  send(header.data(), header.size(), step);
  for (const auto& input : cpu_inputs) send(input.data_ptr(), input.nbytes(), step);

  json reply = receive_header(step);
  if (reply.value("op", "") == "error") {
    throw std::runtime_error(fmt::format("onnxruntime failed on {}: {}", model_path_.string(),
                                         reply.value("message", "(no message)")));
  }
  return reply;
}

std::vector<double> OnnxRuntimeNode::time_runs(const std::vector<torch::Tensor>& inputs, int runs, int warmup) {
  if (runs < 1 || warmup < 0)
    throw std::invalid_argument(fmt::format("time_runs needs runs >= 1 and warmup >= 0, got {} and {}", runs, warmup));
  // The deadline covers every run of the request.
  const auto timeout = options_.run_timeout * (runs + warmup);
  const Step step{"timing runs of", timeout, Clock::now() + timeout};
  const json reply = exchange({{"op", "time"}, {"runs", runs}, {"warmup", warmup}}, inputs, step);
  try {
    if (reply.value("op", "") != "timings") throw std::runtime_error("expected timings, got '" + reply.value("op", "") + "'");
    auto times = reply.at("times_ms").get<std::vector<double>>();
    if (static_cast<int>(times.size()) != runs)
      throw std::runtime_error(fmt::format("{} timings for {} runs", times.size(), runs));
    for (const double ms : times)
      if (!std::isfinite(ms) || ms < 0) throw std::runtime_error(fmt::format("a run timed at {} ms", ms));
    return times;
  } catch (const std::exception& e) {
    fail_with(fmt::format("the ONNX Runtime bridge sent a malformed reply while {} {}: {}", step.what,
                          model_path_.string(), e.what()));
  }
}

std::vector<torch::Tensor> OnnxRuntimeNode::run(const std::vector<torch::Tensor>& inputs) {
  const Step step{"running a batch of", options_.run_timeout, Clock::now() + options_.run_timeout};
  const json reply = exchange({{"op", "run"}}, inputs, step);
  const std::string op = reply.value("op", "");
  std::vector<torch::Tensor> outputs;
  try {
    if (op != "result") throw std::runtime_error("expected a result, got '" + op + "'");
    for (const auto& spec : reply.at("outputs")) outputs.push_back(ort_frames::allocate_tensor(spec));
  } catch (const std::exception& e) {
    // The payload that follows cannot be skipped without trusting the header: the stream is lost.
    fail_with(fmt::format("the ONNX Runtime bridge sent a malformed reply while {} {}: {}", step.what,
                          model_path_.string(), e.what()));
  }
  for (auto& output : outputs) receive(output.data_ptr(), output.nbytes(), step);
  return outputs;
}

}  // namespace mltk::runtime
