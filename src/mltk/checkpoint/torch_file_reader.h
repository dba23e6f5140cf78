#pragma once
// Reads files written by Python's torch.save (zip archives holding a pickle and tensor records).
//
// LibTorch's own torch::pickle_load cannot read what Python commonly writes: it turns
// collections.OrderedDict (every state_dict) into None and rejects the SETITEM opcode that Python
// uses for one-entry dicts. This reader implements the subset of pickle that torch.save emits for
// checkpoints: containers, scalars, strings, OrderedDicts and tensors.
#include <ATen/core/ivalue.h>

#include <stdexcept>
#include <string>

namespace mltk::checkpoint {

class TorchFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns the unpickled object: dicts (plain and ordered) become GenericDicts with string or int
// keys, lists become GenericLists, tuples Tuples, tensors CPU tensors. Throws TorchFileError naming
// `path` and the problem for missing, truncated, non-torch or unsupported files.
c10::IValue read_torch_file(const std::string& path);

}  // namespace mltk::checkpoint
