#pragma once
// ml-export: its flags and the single-checkpoint and --pattern (batch) runs over
// export_checkpoint.h.
#include "mltk/cli/export_checkpoint.h"
#include "mltk/cli/export_torchscript.h"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace mltk::cli {

struct ExportFlags {
  std::string checkpoint_path;
  std::string pattern;
  std::string torchscript_path;
  std::vector<std::string> input_shapes;  // with --torchscript, one per forward argument
  bool list_operators = false;             // print the aten operators converted at the opset, then exit
  std::string output_path;
  std::string onnx_path;
  bool validate_only = false;
  std::string deploy_dir;  // with --pattern, the folder holding one deployment per checkpoint
  bool overwrite = false;
  ExportSettings settings;
};

// Declares the flags on `app`, with the usage rules CLI11 enforces (exit code 2): exactly one of
// --checkpoint_path/--pattern/--torchscript, --input_shape with --torchscript only, --opset_version within 11..17, --output_path and --onnx_path not
// with --pattern, --onnx_path only with --validate_only, --validate_only not with --no-validate,
// --benchmark_runs (1 or more) only with --benchmark.
void add_export_options(CLI::App& app, ExportFlags& flags);

// Runs the command; returns the exit code (0 when every checkpoint exported and validated with
// PASS or WARN, else 1). Errors of a single-checkpoint run propagate as exceptions.
int run_export_command(const ExportFlags& flags);

}  // namespace mltk::cli
