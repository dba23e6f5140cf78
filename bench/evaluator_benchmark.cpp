// Latency of the reference ONNX evaluator against LibTorch eager on the same weights: each model is
// built with a fixed seed, exported by mltk, and both run the same batch-1 input on 2 threads.
//   mltk_evaluator_benchmark [RUNS] [ARCH ...]   (defaults: 20; resnet18 mobilenet_v3_small vit_b_16)
// Prints a markdown table of median milliseconds and the evaluator / eager ratio.
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/runtime/reference_evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

constexpr int kWarmup = 3;

double median_ms(int runs, const std::function<void()>& step) {
  for (int i = 0; i < kWarmup; ++i) step();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::stoi(argv[1]) : 20;
  std::vector<std::string> architectures(argv + std::min(argc, 2), argv + argc);
  if (architectures.empty()) architectures = {"resnet18", "mobilenet_v3_small", "vit_b_16"};
  torch::set_num_threads(2);
  torch::NoGradGuard no_grad;

  std::printf("| model | reference evaluator ms | LibTorch eager ms | ratio |\n|---|---|---|---|\n");
  for (const auto& architecture : architectures) {
    torch::manual_seed(0);
    auto model = mltk::models::create_model({architecture, 2, 224, std::nullopt});
    model->eval();
    mltk::TempDir dir("mltk-evaluator-bench");
    const auto path = dir.file(architecture + ".onnx");
    mltk::onnx_export::export_to_onnx(*model, path, {});
    mltk::runtime::ReferenceEvaluator evaluator(path);

    const auto input = torch::randn({1, 3, 224, 224});
    const double evaluator_ms = median_ms(runs, [&] { evaluator.run({input}); });
    const double eager_ms = median_ms(runs, [&] { model->forward(input); });
    std::printf("| %s | %.2f | %.2f | %.2f |\n", architecture.c_str(), evaluator_ms, eager_ms,
                evaluator_ms / eager_ms);
    std::fflush(stdout);
  }
  return 0;
}
