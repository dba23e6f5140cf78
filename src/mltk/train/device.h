#pragma once
#include <torch/types.h>

#include <string>

namespace mltk::train {

// training.device: "cpu", "cuda" (an error naming the problem when LibTorch sees no CUDA device,
// as with this CPU-only build) or "auto" (CUDA when available, else CPU).
torch::Device resolve_device(const std::string& name);

}  // namespace mltk::train
