#pragma once
// Times an exported classifier where it may be deployed: the ONNX file in ONNX Runtime (through
// Node, every graph optimisation on) and in the reference evaluator, and the checkpoint's model in
// LibTorch eager mode, each at batch size 1 and at the export's batch size.
#include "mltk/benchmark/latency.h"
#include "mltk/models/classifier.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mltk::benchmark {

constexpr int kDefaultRuns = 20;
// Untimed runs first: the first runs of every runtime allocate buffers and fill caches.
constexpr int kWarmupRuns = 3;

struct BenchmarkOptions {
  int runs = kDefaultRuns;
  int warmup = kWarmupRuns;
  std::vector<int64_t> sample_shape{3, 224, 224};  // C, H, W of one image
  // The export's batch size, used when the file's batch dimension is symbolic; a fixed one wins.
  int64_t batch_size = 1;
  int onnxruntime_threads = 0;  // ONNX Runtime's intra-op threads; 0 lets it choose
};

// How `peak_memory_bytes` was measured.
enum class MemoryMeasure {
  kProcessPeak,     // the peak resident memory of the runtime's own process since it started
  kResidentGrowth,  // the rise of this process's peak resident memory over its level before loading
};

struct BatchTiming {
  int64_t batch_size = 0;
  std::vector<double> times_ms;  // one per timed run, in run order
  LatencySummary latency;
  // Measured after this batch size's runs, so it covers loading and every run until then.
  std::optional<int64_t> peak_memory_bytes;
};

struct RuntimeTiming {
  std::string runtime;  // "onnxruntime 1.30.0", "reference", "libtorch eager"
  MemoryMeasure memory_measure = MemoryMeasure::kResidentGrowth;
  double load_ms = 0;   // creating the session or evaluator, or reading the checkpoint into a model
  int threads = 0;      // intra-op threads; 0 for ONNX Runtime's own choice
  std::vector<BatchTiming> batches;
};

struct ExportBenchmark {
  std::string onnx_path;
  int runs = 0;
  int warmup = 0;
  std::vector<RuntimeTiming> runtimes;
  // Why some batch size was not timed in a runtime (a file with a fixed batch dimension); empty otherwise.
  std::string note;
};

// Loads the checkpoint's model (in eval mode); timed as LibTorch's load.
using EagerModelLoader = std::function<models::Classifier()>;

// Times each runtime in turn, each loaded, timed and released before the next, on one seeded
// random batch per batch size. Throws std::invalid_argument for runs < 1 or warmup < 0, and
// std::runtime_error when a runtime cannot load or run the file (with its message).
ExportBenchmark benchmark_export(const std::string& onnx_path, const EagerModelLoader& load_eager_model,
                                 const BenchmarkOptions& options);

const char* to_string(MemoryMeasure measure);

}  // namespace mltk::benchmark
