#include "mltk/train/device.h"

#include <torch/cuda.h>

#include <stdexcept>

namespace mltk::train {

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? torch::kCUDA : torch::kCPU;
  if (name == "cuda") {
    if (!cuda)
      throw std::runtime_error("training.device is cuda but no CUDA device is available to this LibTorch build; use "
                               "--device cpu");
    return torch::kCUDA;
  }
  throw std::invalid_argument("training.device: unknown device '" + name + "' (cpu, cuda or auto)");
}

}  // namespace mltk::train
