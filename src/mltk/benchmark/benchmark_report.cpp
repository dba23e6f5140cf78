#include "mltk/benchmark/benchmark_report.h"

#include "mltk/common/atomic_file.h"

#include <fmt/format.h>

#include <filesystem>

namespace mltk::benchmark {
namespace {

constexpr double kMebibyte = 1024.0 * 1024.0;

std::string threads_text(const ExportBenchmark& benchmark) {
  std::string text;
  for (const auto& runtime : benchmark.runtimes) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", runtime.runtime,
                        runtime.threads > 0 ? std::to_string(runtime.threads) : std::string("its default"));
  }
  return text;
}

}  // namespace

std::vector<std::string> format_table(const ExportBenchmark& benchmark) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("Benchmark of {}: {} timed runs after {} warm-up runs; threads: {}", benchmark.onnx_path,
                              benchmark.runs, benchmark.warmup, threads_text(benchmark)));
  lines.push_back(fmt::format("  {:<20} {:>5} {:>9} {:>10} {:>9} {:>10} {:>9}", "runtime", "batch", "load ms",
                              "median ms", "p90 ms", "images/s", "peak MiB"));
  for (const auto& runtime : benchmark.runtimes) {
    for (const auto& batch : runtime.batches) {
      const std::string memory =
          batch.peak_memory_bytes ? fmt::format("{:.1f}", *batch.peak_memory_bytes / kMebibyte) : std::string("-");
      lines.push_back(fmt::format("  {:<20} {:>5} {:>9.1f} {:>10.3f} {:>9.3f} {:>10.1f} {:>9}", runtime.runtime,
                                  batch.batch_size, runtime.load_ms, batch.latency.median_ms, batch.latency.p90_ms,
                                  batch.latency.images_per_second, memory));
    }
  }
  if (!benchmark.note.empty()) lines.push_back("  " + benchmark.note);
  lines.push_back("  peak MiB: onnxruntime, the Node process's peak resident memory (Node and ONNX Runtime included); "
                  "the others, how far this process's resident memory rose over its level before loading");
  return lines;
}

nlohmann::json to_json(const ExportBenchmark& benchmark) {
  nlohmann::json runtimes = nlohmann::json::array();
  for (const auto& runtime : benchmark.runtimes) {
    nlohmann::json batches = nlohmann::json::array();
    for (const auto& batch : runtime.batches) {
      batches.push_back({{"batch_size", batch.batch_size},
                         {"median_ms", batch.latency.median_ms},
                         {"p90_ms", batch.latency.p90_ms},
                         {"images_per_second", batch.latency.images_per_second},
                         {"peak_memory_bytes", batch.peak_memory_bytes ? nlohmann::json(*batch.peak_memory_bytes)
                                                                       : nlohmann::json()},
                         {"times_ms", batch.times_ms}});
    }
    runtimes.push_back({{"runtime", runtime.runtime},
                        {"threads", runtime.threads},
                        {"load_ms", runtime.load_ms},
                        {"memory_measure", to_string(runtime.memory_measure)},
                        {"batches", std::move(batches)}});
  }
  return {{"onnx_path", benchmark.onnx_path},
          {"runs", benchmark.runs},
          {"warmup", benchmark.warmup},
          {"note", benchmark.note.empty() ? nlohmann::json() : nlohmann::json(benchmark.note)},
          {"runtimes", std::move(runtimes)}};
}

std::string benchmark_report_path(const std::string& onnx_path) {
  const std::filesystem::path path(onnx_path);
  return (path.parent_path() / (path.stem().string() + ".benchmark.json")).string();
}

std::string write_benchmark_report(const ExportBenchmark& benchmark) {
  const std::string path = benchmark_report_path(benchmark.onnx_path);
  write_file_atomically(path, to_json(benchmark).dump(2) + "\n");
  return path;
}

}  // namespace mltk::benchmark
