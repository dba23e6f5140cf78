#pragma once
// Named parameter and buffer tensors, as in torch.nn.Module.state_dict().
#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace mltk::checkpoint {

using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// Every parameter and buffer of `module` under its dotted name (detached, sharing storage).
StateDict state_dict_of(const torch::nn::Module& module);

// How load_state_dict fills a module: by copying into its tensors, or by making the given tensors
// the module's own wherever dtype and strides match (no copy: the module then shares their memory,
// and writing to one changes the other).
enum class LoadMode { copy, share };

// Loads `state` into `module`. Strict: the key sets must be equal and each shape must match;
// otherwise throws std::runtime_error naming `source`, the missing/unexpected keys and the
// mismatched shapes, and leaves the module unchanged.
void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source,
                     LoadMode mode = LoadMode::copy);

// Converts an unpickled name -> tensor dict; throws naming `source` when it is not one.
StateDict state_dict_from_ivalue(const c10::IValue& value, const std::string& source);
c10::IValue state_dict_to_ivalue(const StateDict& state);

}  // namespace mltk::checkpoint
