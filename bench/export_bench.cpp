// Times mltk's ONNX export of a checkpoint, for bench/export_benchmark.py.
//   mltk_export_bench CHECKPOINT OUTPUT.onnx [OPSET]
// Prints one JSON line: the time of export_to_onnx alone (trace, convert, optimise, check, write)
// and of the whole run up to that point (LibTorch start-up excluded: it happens before main), each
// with its breakdown by phase.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/torch_runtime.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/pipeline/model_builder.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <string>

namespace {

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: mltk_export_bench CHECKPOINT OUTPUT.onnx [OPSET]\n";
    return 2;
  }
  // As ml-export does: every core (LibTorch can default to one thread) and freed memory kept.
  mltk::configure_torch_runtime();
  const auto start = std::chrono::steady_clock::now();
  try {
    nlohmann::json load_phases;
    auto lap = start;
    const auto checkpoint = mltk::checkpoint::load_checkpoint(argv[1]);
    load_phases["read checkpoint"] = milliseconds_since(lap);
    lap = std::chrono::steady_clock::now();
    auto model = mltk::pipeline::create_model_with_weights(
        {checkpoint.model.architecture, checkpoint.model.num_classes, checkpoint.model.input_size, std::nullopt},
        checkpoint.model_state_dict, argv[1]);
    load_phases["create model with weights"] = milliseconds_since(lap);
    const double load_ms = milliseconds_since(start);

    mltk::onnx_export::ExportOptions options;
    options.opset = argc == 4 ? std::stoi(argv[3]) : 14;
    options.input_shape = {3, checkpoint.model.input_size, checkpoint.model.input_size};
    const auto export_start = std::chrono::steady_clock::now();
    const auto report = mltk::onnx_export::export_to_onnx(*model, argv[2], options);
    const double export_ms = milliseconds_since(export_start);

    nlohmann::json export_phases;
    for (const auto& phase : report.phases) export_phases[phase.name] = phase.ms;
    std::cout << nlohmann::json{{"load_ms", load_ms},
                                {"export_ms", export_ms},
                                {"total_ms", milliseconds_since(start)},
                                {"node_count", report.node_count},
                                {"load_phases", load_phases},
                                {"export_phases", export_phases}}
                     .dump()
              << "\n";
  } catch (const std::exception& error) {
    std::cerr << "mltk_export_bench: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
