#include "mltk/benchmark/export_benchmark.h"

#include "mltk/benchmark/process_memory.h"
#include "mltk/runtime/graph_input.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/reference_evaluator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

namespace mltk::benchmark {
namespace {

using Clock = std::chrono::steady_clock;

// Fixed so that every runtime and every run of the tool sees the same numbers.
constexpr uint64_t kInputSeed = 20240602;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

template <typename Load>
auto timed_load(double& load_ms, Load&& load) {
  const auto start = Clock::now();
  auto loaded = load();
  load_ms = milliseconds_since(start);
  return loaded;
}

// `warmup` untimed calls, then `runs` timed ones.
std::vector<double> time_calls(const std::function<void()>& call, int runs, int warmup) {
  for (int i = 0; i < warmup; ++i) call();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    call();
    times.push_back(milliseconds_since(start));
  }
  return times;
}

BatchTiming batch_timing(int64_t batch_size, std::vector<double> times_ms, std::optional<int64_t> peak_memory) {
  const LatencySummary latency = summarize_latencies(times_ms, batch_size);
  return {batch_size, std::move(times_ms), latency, peak_memory};
}

std::vector<int64_t> distinct(std::vector<int64_t> sizes) {
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

RuntimeTiming time_onnxruntime(const std::string& onnx_path, const std::vector<int64_t>& batch_sizes,
                               const std::map<int64_t, torch::Tensor>& inputs, const BenchmarkOptions& options) {
  RuntimeTiming timing;
  timing.memory_measure = MemoryMeasure::kProcessPeak;
  timing.threads = options.onnxruntime_threads;
  runtime::OnnxRuntimeNodeOptions node_options;
  node_options.intra_op_threads = options.onnxruntime_threads;
  node_options.graph_optimization = "all";
  // Loading includes starting Node and ONNX Runtime: a deployment through Node pays that too.
  const auto session = timed_load(
      timing.load_ms, [&] { return std::make_unique<runtime::OnnxRuntimeNode>(onnx_path, node_options); });
  timing.runtime = session->name();
  for (const int64_t batch_size : batch_sizes) {
    auto times = session->time_runs({inputs.at(batch_size)}, options.runs, options.warmup);
    timing.batches.push_back(batch_timing(batch_size, std::move(times), peak_resident_bytes(session->process_id())));
  }
  return timing;
}

template <typename Runner>
RuntimeTiming time_in_process(const std::string& name, const std::function<Runner()>& load,
                              const std::function<void(Runner&, const torch::Tensor&)>& run,
                              const std::vector<int64_t>& batch_sizes, const std::map<int64_t, torch::Tensor>& inputs,
                              const BenchmarkOptions& options) {
  RuntimeTiming timing;
  timing.runtime = name;
  timing.threads = torch::get_num_threads();
  const ResidentGrowth memory;
  Runner runner = timed_load(timing.load_ms, load);
  for (const int64_t batch_size : batch_sizes) {
    const torch::Tensor& input = inputs.at(batch_size);
    auto times = time_calls([&] { run(runner, input); }, options.runs, options.warmup);
    timing.batches.push_back(batch_timing(batch_size, std::move(times), memory.peak_bytes()));
  }
  return timing;
}

}  // namespace

const char* to_string(MemoryMeasure measure) {
  return measure == MemoryMeasure::kProcessPeak ? "process_peak" : "resident_growth";
}

ExportBenchmark benchmark_export(const std::string& onnx_path, const EagerModelLoader& load_eager_model,
                                 const BenchmarkOptions& options) {
  if (options.runs < 1 || options.warmup < 0)
    throw std::invalid_argument(fmt::format("A benchmark needs at least 1 timed run and no negative warm-up count "
                                            "(got {} runs, {} warm-up)",
                                            options.runs, options.warmup));
  const auto file_input = runtime::read_image_input(onnx_path);
  const int64_t export_batch = file_input.fixed_batch.value_or(options.batch_size);
  const std::vector<int64_t> eager_batches = distinct({1, export_batch});
  const std::vector<int64_t> onnx_batches = file_input.fixed_batch ? std::vector<int64_t>{export_batch} : eager_batches;

  ExportBenchmark result;
  result.onnx_path = onnx_path;
  result.runs = options.runs;
  result.warmup = options.warmup;
  if (onnx_batches.size() < eager_batches.size())
    result.note = fmt::format("{} has a fixed batch size of {}, so ONNX Runtime and the reference evaluator run it "
                              "at that size only; export with --dynamic_axes to time batch size 1 as well",
                              onnx_path, export_batch);

  auto generator = at::detail::createCPUGenerator(kInputSeed);
  std::map<int64_t, torch::Tensor> inputs;
  // A file with embedded preprocessing takes uint8 pixels [N, H, W, C]; the eager model, normalised
  // floats [N, C, H, W]. Timing does not depend on the values, only on their type and shape.
  std::map<int64_t, torch::Tensor> onnx_inputs;
  for (const int64_t batch_size : eager_batches) {
    std::vector<int64_t> shape{batch_size};
    shape.insert(shape.end(), options.sample_shape.begin(), options.sample_shape.end());
    inputs[batch_size] = torch::randn(shape, generator, torch::kFloat32);
    onnx_inputs[batch_size] =
        file_input.takes_pixels
            ? torch::randint(0, 256, {shape[0], shape[2], shape[3], shape[1]}, generator, torch::kUInt8)
            : inputs[batch_size];
  }

  torch::NoGradGuard no_grad;
  result.runtimes.push_back(time_onnxruntime(onnx_path, onnx_batches, onnx_inputs, options));
  result.runtimes.push_back(time_in_process<std::unique_ptr<runtime::ReferenceEvaluator>>(
      "reference", [&] { return std::make_unique<runtime::ReferenceEvaluator>(onnx_path); },
      [](auto& evaluator, const torch::Tensor& input) { evaluator->run({input}); }, onnx_batches, onnx_inputs,
      options));
  result.runtimes.push_back(time_in_process<models::Classifier>(
      "libtorch eager", load_eager_model, [](auto& model, const torch::Tensor& input) { model->forward(input); },
      eager_batches, inputs, options));
  return result;
}

}  // namespace mltk::benchmark
