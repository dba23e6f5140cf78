#include "mltk/validate/function_validation.h"

#include "mltk/common/atomic_file.h"
#include "mltk/runtime/graph_input.h"
#include "mltk/runtime/runner_factory.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace mltk::validate {

ExportValidation validate_function_export(const TensorFunction& function, const std::string& onnx_path,
                                          const FunctionValidationOptions& options) {
  if (options.input_shapes.empty() || options.input_shapes.front().empty())
    throw std::invalid_argument("validation needs the shape of every input, batch dimension first");
  auto runner = runtime::make_onnx_runner(options.runtime, onnx_path, options.runtime_threads);
  ExportValidation validation;
  validation.onnx_path = onnx_path;
  validation.runtime = runner->name();
  validation.dynamic_batch = options.dynamic_batch;
  const auto& first_shape = options.input_shapes.front();
  validation.input_shape.assign(first_shape.begin() + 1, first_shape.end());

  std::vector<int64_t> batch_sizes{first_shape.front()};
  if (options.dynamic_batch)
    batch_sizes.push_back(batch_sizes.front() == kDynamicCheckBatchSize ? kDynamicCheckBatchSize + 1
                                                                        : kDynamicCheckBatchSize);
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(kValidationSeed);
  for (const int64_t batch_size : batch_sizes) {
    const auto inputs = runtime::standard_normal_inputs(options.input_shapes, batch_size, generator);
    const auto expected = function(inputs);
    const auto actual = runner->run(inputs);
    if (actual.size() != expected.size())
      throw std::runtime_error(onnx_path + ": the ONNX graph gives " + std::to_string(actual.size()) +
                               " outputs where the module gives " + std::to_string(expected.size()));
    for (size_t i = 0; i < expected.size(); ++i) {
      Report report = evaluate(expected[i], actual[i]);
      validation.status = std::max(validation.status, report.verdict.status);
      validation.batches.push_back(
          {batch_size, std::move(report), expected.size() > 1 ? runtime::graph_io_name("output", i, expected.size()) : std::string()});
    }
  }
  validation.report_path = validation_report_path(onnx_path);
  write_file_atomically(validation.report_path, to_json(validation).dump(2) + "\n");
  return validation;
}

}  // namespace mltk::validate
