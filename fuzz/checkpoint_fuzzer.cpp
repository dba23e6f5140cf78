// The torch.save reader (checkpoint/torch_file_reader.h) on arbitrary files: every input must give
// a value or a TorchFileError, never a crash, a sanitizer report, a hang or an unbounded allocation.
#include "fuzz_input_file.h"
#include "mltk/checkpoint/torch_file_reader.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mltk::fuzz::write_input_file("input.pt", data, size);
  try {
    mltk::checkpoint::read_torch_file(path);
  } catch (const std::exception&) {
    // A refused file is the expected outcome for almost every input.
  }
  return 0;
}
