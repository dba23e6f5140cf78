#pragma once
// ml-export --torchscript: a TorchScript file exported with example inputs of the shapes given and
// validated against the module itself.
#include "mltk/cli/export_checkpoint.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mltk::cli {

struct TorchScriptJob {
  std::string module_path;
  std::vector<std::string> input_shapes;  // "N,C,H,W" as given, one per forward argument
  std::string onnx_path;                  // empty: beside the module, with .onnx
};

// "1,3,224,224" -> {1, 3, 224, 224}. Throws std::runtime_error naming the flag's value unless it is
// one or more positive integers separated by commas.
std::vector<int64_t> parse_input_shape(const std::string& text);

// Exports and (unless settings.validate is off) validates; returns the exit code (1 on FAIL).
int run_torchscript_job(const TorchScriptJob& job, const ExportSettings& settings);

}  // namespace mltk::cli
