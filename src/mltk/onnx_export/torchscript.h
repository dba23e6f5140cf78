#pragma once
// TorchScript modules (torch.jit.trace / torch.jit.script output, torch::jit::Module in C++) as a
// source of graphs to export: their forward graph is lowered to aten operators over explicit
// inputs and parameters, as torch.onnx does for a ScriptModule, and every value is given the
// shape it has when the graph runs on example inputs.
#include "mltk/onnx_export/exporter.h"
#include "mltk/onnx_export/trace.h"

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace mltk::onnx_export {

// torch::jit::load in eval mode. Throws std::runtime_error naming the file when it is missing or
// is not a TorchScript archive (a torch.save checkpoint, say).
torch::jit::Module load_torchscript(const std::string& path);

// Throws std::runtime_error unless forward takes exactly `input_count` tensors after self,
// naming any argument of another type.
void require_tensor_arguments(const torch::jit::Module& module, size_t input_count);

// The module's forward as a graph of aten operators: inputs first, then the parameters and buffers
// it reads (named after the module's attributes, e.g. "layer1.0.conv1.weight"). Each value's type
// holds the shape it takes when the graph runs on `inputs`, and `outputs` are the module's results
// for them (a returned tuple or list flattened). Throws std::runtime_error for control flow that
// depends on the inputs and for a forward that fails on inputs of these shapes.
TracedModule lower_script_forward(const torch::jit::Module& module, const std::vector<torch::Tensor>& inputs);

struct ScriptExportOptions : TracedExportOptions {
  // One shape per forward argument, batch dimension first.
  std::vector<std::vector<int64_t>> input_shapes;
};

// Exports forward at options.batch_size (dimension 0 of options.input_shapes is replaced by it).
ExportReport export_script_module(const torch::jit::Module& module, const std::string& output_path,
                                  const ScriptExportOptions& options);

// The results of forward on `inputs`, a returned tuple or list flattened into its tensors.
std::vector<torch::Tensor> run_script_forward(const torch::jit::Module& module, const std::vector<torch::Tensor>& inputs);

}  // namespace mltk::onnx_export
