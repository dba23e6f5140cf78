// Per-batch latency of the ONNX Runtime bridge (OnnxRuntimeNode::run, one Node process for all
// runs), for bench/ort_bridge_benchmark.py, which times session.run in Node on the same input.
// Usage: mltk_ort_bridge_latency MODEL.onnx INPUT.bin DIMS THREADS RUNS WARMUP
//   DIMS like 1,3,224,224; INPUT.bin holds that many raw little-endian float32 values.
// Prints {"startup_ms", "runs", "warmup", "mean_ms", "median_ms", "min_ms", "max_ms"}.
#include "mltk/common/subprocess.h"
#include "mltk/runtime/onnxruntime_node.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <numeric>
#include <sstream>

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  std::istringstream in(text);
  for (std::string dim; std::getline(in, dim, ',');) dims.push_back(std::stoll(dim));
  return dims;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: " << argv[0] << " MODEL.onnx INPUT.bin DIMS THREADS RUNS WARMUP\n";
    return 2;
  }
  try {
    const std::string bytes = mltk::read_file(argv[2]);
    torch::Tensor input = torch::empty(parse_dims(argv[3]), torch::kFloat32);
    if (bytes.size() != input.nbytes()) {
      throw std::runtime_error(fmt::format("{} has {} bytes, dims {} need {}", argv[2], bytes.size(), argv[3], input.nbytes()));
    }
    std::memcpy(input.data_ptr(), bytes.data(), bytes.size());
    const int runs = std::stoi(argv[5]);
    const int warmup = std::stoi(argv[6]);
    if (runs < 1 || warmup < 0) throw std::runtime_error("RUNS must be positive and WARMUP non-negative");

    const auto start = std::chrono::steady_clock::now();
    mltk::runtime::OnnxRuntimeNode runtime(argv[1], std::stoi(argv[4]));
    const double startup_ms = elapsed_ms(start);
    for (int i = 0; i < warmup; ++i) runtime.run({input});
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
      const auto run_start = std::chrono::steady_clock::now();
      runtime.run({input});
      times.push_back(elapsed_ms(run_start));
    }
    std::sort(times.begin(), times.end());
    const double median = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    std::cout << fmt::format(
                     "{{\"startup_ms\": {}, \"runs\": {}, \"warmup\": {}, \"mean_ms\": {}, \"median_ms\": {}, "
                     "\"min_ms\": {}, \"max_ms\": {}}}",
                     startup_ms, runs, warmup, std::accumulate(times.begin(), times.end(), 0.0) / runs, median,
                     times.front(), times.back())
              << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "mltk_ort_bridge_latency: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
