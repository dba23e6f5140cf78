// Eval-mode forward latency of zoo architectures, batch 1, for bench/zoo_latency.py.
// Usage: mltk_zoo_latency THREADS RUNS ARCH...   (prints one JSON object per architecture)
#include "mltk/common/torch_runtime.h"
#include "mltk/models/zoo.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " THREADS RUNS ARCH...\n";
    return 2;
  }
  mltk::configure_torch_runtime(std::stoi(argv[1]));
  const int runs = std::stoi(argv[2]);
  torch::NoGradGuard no_grad;
  for (int i = 3; i < argc; ++i) {
    const std::string architecture = argv[i];
    torch::manual_seed(0);
    auto model = mltk::models::create_model({architecture, 1000});
    model->eval();
    const auto input = torch::randn({1, 3, 224, 224});
    for (int warmup = 0; warmup < 3; ++warmup) model->forward(input);
    std::vector<double> times;
    for (int run = 0; run < runs; ++run) {
      const auto start = std::chrono::steady_clock::now();
      model->forward(input);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    std::cout << "{\"architecture\": \"" << architecture << "\", \"median_ms\": " << times[times.size() / 2]
              << ", \"min_ms\": " << times.front() << "}" << std::endl;
  }
  return 0;
}
