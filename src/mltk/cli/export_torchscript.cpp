#include "mltk/cli/export_torchscript.h"

#include "mltk/cli/app.h"
#include "mltk/common/logging.h"
#include "mltk/onnx_export/torchscript.h"
#include "mltk/validate/function_validation.h"

#include <fmt/ranges.h>

#include <filesystem>
#include <stdexcept>

namespace mltk::cli {

std::vector<int64_t> parse_input_shape(const std::string& text) {
  std::vector<int64_t> shape;
  size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(',', start), text.size());
    const auto part = text.substr(start, end - start);
    size_t used = 0;
    int64_t size = 0;
    try {
      size = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || size < 1)
      throw std::runtime_error("--input_shape '" + text +
                               "': expected positive sizes separated by commas, batch first, such as 1,3,224,224");
    shape.push_back(size);
    start = end + 1;
  }
  return shape;
}

int run_torchscript_job(const TorchScriptJob& job, const ExportSettings& settings) {
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& text : job.input_shapes) shapes.push_back(parse_input_shape(text));
  const auto onnx_path =
      job.onnx_path.empty() ? std::filesystem::path(job.module_path).replace_extension(".onnx").string() : job.onnx_path;

  log::info("Loading TorchScript module from {}", job.module_path);
  const auto module = onnx_export::load_torchscript(job.module_path);
  onnx_export::require_tensor_arguments(module, shapes.size());

  log::info("Exporting to ONNX format...");
  onnx_export::ScriptExportOptions options;
  options.opset = settings.opset;
  options.batch_size = shapes.front().front();
  options.dynamic_batch = settings.dynamic_axes;
  options.input_shapes = shapes;
  std::vector<std::string> shape_texts;
  for (const auto& shape : shapes) shape_texts.push_back(fmt::format("[{}]", fmt::join(shape, ",")));
  options.metadata = {{"producer", std::string("mltk ") + MLTK_VERSION},
                      {"opset", std::to_string(settings.opset)},
                      {"source", "torchscript"},
                      {"input_shapes", fmt::format("[{}]", fmt::join(shape_texts, ","))}};
  onnx_export::ExportReport report;
  try {
    report = onnx_export::export_script_module(module, onnx_path, options);
  } catch (const std::exception& e) {
    throw std::runtime_error("ONNX export of " + job.module_path + " failed: " + message_of(e));
  }
  log_export_report(report);
  log::success("✓ Model exported to: {}", onnx_path);
  if (!settings.validate) return 0;

  log::info("Validating ONNX export...");
  validate::FunctionValidationOptions validation_options;
  validation_options.input_shapes = shapes;
  validation_options.dynamic_batch = settings.dynamic_axes;
  validation_options.runtime = settings.runtime;
  validation_options.runtime_threads = settings.runtime_threads;
  const auto forward = [&module](const std::vector<torch::Tensor>& inputs) {
    return onnx_export::run_script_forward(module, inputs);
  };
  const auto validation = validate::validate_function_export(forward, onnx_path, validation_options);
  log_validation(validation, true);
  return validation.status == validate::Status::Fail ? 1 : 0;
}

}  // namespace mltk::cli
