// The ONNX loader with every check that runs before a model is evaluated
// (runtime/onnx_model_checks.h) on arbitrary files, and the tensors the reference evaluator lays
// over the initializers of a model it loads unchecked.
#include "fuzz_input_file.h"
#include "mltk/runtime/onnx_model_checks.h"
#include "mltk/runtime/onnx_model_loader.h"

#include <exception>

namespace {

// Reads every byte in instrumented code, so that AddressSanitizer reports a tensor reaching past
// the buffer it was laid over (LibTorch's own kernels are not instrumented).
unsigned char touch_every_byte(const at::Tensor& tensor) {
  const auto* bytes = static_cast<const unsigned char*>(tensor.data_ptr());
  unsigned char folded = 0;
  for (size_t i = 0; i < tensor.nbytes(); ++i) folded ^= bytes[i];
  return folded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mltk::fuzz::write_input_file("model.onnx", data, size);
  try {
    mltk::runtime::load_checked_onnx_model(path);
  } catch (const std::exception&) {
    // A refused model is the expected outcome for almost every input.
  }
  try {
    auto model = mltk::runtime::load_onnx_model(path);
    for (auto& initializer : *model.mutable_graph()->mutable_initializer()) {
      try {
        volatile unsigned char sink = touch_every_byte(mltk::runtime::take_tensor_from_proto(initializer));
        (void)sink;
      } catch (const std::exception&) {
        // Refused like the model above.
      }
    }
  } catch (const std::exception&) {
  }
  return 0;
}
