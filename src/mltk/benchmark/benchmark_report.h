#pragma once
// The figures of an export benchmark as a console table and as the JSON report written beside the
// ONNX file.
#include "mltk/benchmark/export_benchmark.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mltk::benchmark {

// A title line, a header line and one row per runtime and batch size: runtime, batch, load ms,
// median ms, p90 ms, images/s, peak MiB ("-" where memory could not be measured); then the note,
// if any, and a line saying what the memory column means.
std::vector<std::string> format_table(const ExportBenchmark& benchmark);

// {"onnx_path", "runs", "warmup", "note",
//  "runtimes": [{"runtime", "threads", "load_ms", "memory_measure",
//                "batches": [{"batch_size", "median_ms", "p90_ms", "images_per_second",
//                             "peak_memory_bytes" (null when not measured), "times_ms": [...]}]}]}
nlohmann::json to_json(const ExportBenchmark& benchmark);

// <folder>/<stem>.benchmark.json for <folder>/<stem>.onnx.
std::string benchmark_report_path(const std::string& onnx_path);

// Writes to_json(benchmark) to benchmark_report_path atomically and returns that path.
std::string write_benchmark_report(const ExportBenchmark& benchmark);

}  // namespace mltk::benchmark
