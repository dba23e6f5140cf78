// The frozen inference graph of a zoo architecture with unstrided 3x3 convolutions on oneDNN's
// Winograd kernels against the same graph on its direct kernels, in alternating bursts.
// Usage: mltk_frozen_forward THREADS BATCH BURSTS ARCH...
// Prints, per architecture, the median milliseconds per image of each side, their ratio, and how far
// each side's logits are from the eager model's (largest difference over the largest logit).
#include "mltk/common/torch_runtime.h"
#include "mltk/inference/frozen_forward.h"
#include "mltk/models/zoo.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double milliseconds_per_image(mltk::inference::FrozenForward& forward, const torch::Tensor& input) {
  const auto start = std::chrono::steady_clock::now();
  forward(input);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
         static_cast<double>(input.size(0));
}

double relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual - expected).abs().max().item<double>() / std::max(1.0, expected.abs().max().item<double>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: " << argv[0] << " THREADS BATCH BURSTS ARCH...\n";
    return 2;
  }
  try {
    mltk::configure_torch_runtime(std::stoi(argv[1]));
    const int64_t batch = std::stoll(argv[2]);
    const int bursts = std::stoi(argv[3]);
    std::cout << "| architecture | direct ms/image | Winograd ms/image | Winograd / direct | direct vs eager | "
                 "Winograd vs eager |\n|---|---|---|---|---|---|\n";
    for (int i = 4; i < argc; ++i) {
      const std::string architecture = argv[i];
      torch::manual_seed(0);
      auto model = mltk::models::create_model({architecture, 1000});
      model->eval();
      torch::NoGradGuard no_grad;
      const auto input = torch::randn({batch, 3, 224, 224});
      const auto eager = model->forward(input);
      const auto forward = [&](const torch::Tensor& x) { return model->forward(x); };
      mltk::inference::FrozenForward direct(*model, forward, /*winograd_convolutions=*/false);
      mltk::inference::FrozenForward winograd(*model, forward, /*winograd_convolutions=*/true);
      const double direct_error = relative_difference(direct(input), eager);
      const double winograd_error = relative_difference(winograd(input), eager);
      std::vector<double> direct_ms, winograd_ms;
      for (int burst = 0; burst < bursts; ++burst) {
        direct_ms.push_back(milliseconds_per_image(direct, input));
        winograd_ms.push_back(milliseconds_per_image(winograd, input));
      }
      const double d = median(direct_ms), w = median(winograd_ms);
      std::cout << "| " << architecture << " | " << d << " | " << w << " | " << w / d << " | " << direct_error
                << " | " << winograd_error << " |" << std::endl;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
