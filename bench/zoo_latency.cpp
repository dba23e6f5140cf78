// Eval-mode forward latency of zoo architectures, batch 1, for bench/zoo_latency.py.
// Usage: mltk_zoo_latency THREADS RUNS ARCH[:WEIGHTS[:INPUT]]...   (one JSON object per architecture)
//        mltk_zoo_latency THREADS stdin ARCH[:WEIGHTS[:INPUT]]     (after "ready KERNELS", KERNELS being
//                                                                   OpenBLAS's kernel set, each line N on stdin
//                                                                   runs N passes and prints their ms)
// The stdin form lets the caller interleave short bursts of ours with short bursts of its own, so
// that a machine whose speed drifts (a shared host) slows both sides alike.
// WEIGHTS is a state-dict file (torch.save of torchvision's model.state_dict()), so that both sides
// of the comparison compute with the same numbers: with random weights of their own, the two can
// differ in speed for reasons of value alone (denormal activations). INPUT is a file holding a dict
// {"input": tensor}; without it the input is torch::randn with seed 0.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/openblas_kernel.h"
#include "mltk/common/torch_runtime.h"
#include "mltk/models/zoo.h"
#include "mltk/pipeline/model_builder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace {

std::vector<std::string> split_colons(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = text.find(':', start)) != std::string::npos; start = colon + 1)
    parts.push_back(text.substr(start, colon - start));
  parts.push_back(text.substr(start));
  return parts;
}

torch::Tensor input_from(const std::string& path) {
  for (const auto& [name, tensor] : mltk::checkpoint::load_weights_file(path))
    if (name == "input") return tensor;
  throw std::runtime_error(path + ": no \"input\" tensor");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " THREADS RUNS ARCH[:WEIGHTS[:INPUT]]...\n";
    return 2;
  }
  try {
    mltk::configure_torch_runtime(std::stoi(argv[1]));
    const bool from_stdin = std::string(argv[2]) == "stdin";
    const int runs = from_stdin ? 0 : std::stoi(argv[2]);
    torch::NoGradGuard no_grad;
    for (int i = 3; i < argc; ++i) {
      const auto parts = split_colons(argv[i]);
      const std::string& architecture = parts[0];
      torch::manual_seed(0);
      const mltk::models::ModelOptions options{architecture, 1000};
      auto model = parts.size() > 1 ? mltk::pipeline::create_model_with_weights(
                                          options, mltk::checkpoint::load_weights_file(parts[1]), parts[1])
                                    : mltk::models::create_model(options);
      model->eval();
      const auto input = parts.size() > 2 ? input_from(parts[2]) : torch::randn({1, 3, 224, 224});
      for (int warmup = 0; warmup < 3; ++warmup) model->forward(input);
      if (from_stdin) {
        std::cout << "ready " << mltk::openblas_core_name() << std::endl;
        for (int burst; std::cin >> burst;) {
          std::cout << "[";
          for (int run = 0; run < burst; ++run) {
            const auto start = std::chrono::steady_clock::now();
            model->forward(input);
            std::cout << (run ? ", " : "")
                      << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
          }
          std::cout << "]" << std::endl;
        }
        continue;
      }
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
  } catch (const std::exception& e) {
    std::cerr << "mltk_zoo_latency: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
