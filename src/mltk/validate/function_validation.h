#pragma once
// Validation of an export whose source is any tensor function (a TorchScript module's forward):
// the function and the ONNX file run on the same seeded standard-normal inputs, at the export's
// batch size and, when the batch dimension is symbolic, at a second one; every output is compared
// with the metrics and verdict of verdict.h.
#include "mltk/validate/export_validator.h"

#include <functional>
#include <string>
#include <vector>

namespace mltk::validate {

using TensorFunction = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;

struct FunctionValidationOptions {
  // One shape per input, batch dimension first; dimension 0 is replaced by each batch size tried.
  std::vector<std::vector<int64_t>> input_shapes;
  bool dynamic_batch = false;  // also try kDynamicCheckBatchSize (or one more when that is the export's)
  std::string runtime = "reference";
  int runtime_threads = 0;
};

// Throws std::runtime_error naming the file when it cannot be run or gives another number of
// outputs than the function. Writes the JSON report to validation_report_path(onnx_path).
ExportValidation validate_function_export(const TensorFunction& function, const std::string& onnx_path,
                                          const FunctionValidationOptions& options);

}  // namespace mltk::validate
