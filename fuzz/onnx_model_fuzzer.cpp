// The ONNX loader with every check that runs before a model is evaluated
// (runtime/onnx_model_checks.h) on arbitrary files.
#include "fuzz_input_file.h"
#include "mltk/runtime/onnx_model_checks.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mltk::fuzz::write_input_file("model.onnx", data, size);
  try {
    mltk::runtime::load_checked_onnx_model(path);
  } catch (const std::exception&) {
    // A refused model is the expected outcome for almost every input.
  }
  return 0;
}
