#include "mltk/onnx_export/exporter.h"

#include "mltk/onnx_export/convert_graph.h"
#include "mltk/onnx_export/converters.h"
#include "mltk/onnx_export/embedded_preprocessing.h"
#include "mltk/onnx_export/graph_passes.h"
#include "mltk/onnx_export/model_writer.h"
#include "mltk/runtime/graph_input.h"

#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <type_traits>

namespace mltk::onnx_export {
namespace {

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Runs `step`, appends its wall time to `phases` under `name` and returns its result.
template <typename Step>
auto timed(std::vector<ExportPhase>& phases, const char* name, Step&& step) {
  const auto start = std::chrono::steady_clock::now();
  if constexpr (std::is_void_v<std::invoke_result_t<Step>>) {
    step();
    phases.push_back({name, milliseconds_since(start)});
  } else {
    auto result = step();
    phases.push_back({name, milliseconds_since(start)});
    return result;
  }
}

torch::Tensor example_input(torch::nn::Module& module, const ExportOptions& options, int64_t batch_size) {
  std::vector<int64_t> shape{batch_size};
  shape.insert(shape.end(), options.input_shape.begin(), options.input_shape.end());
  auto tensor_options = torch::TensorOptions().dtype(torch::kFloat);
  const auto parameters = module.parameters();
  if (!parameters.empty()) tensor_options = tensor_options.device(parameters.front().device());
  return torch::randn(shape, tensor_options);
}

// Converters read traced sizes (squeeze without dims, adaptive pooling, flatten's trailing dims):
// the ONNX graphs converted from traces at two batch sizes must be identical as well.
void require_same_onnx_nodes(const onnx::GraphProto& first, int64_t first_batch, const onnx::GraphProto& second,
                             int64_t second_batch) {
  for (int i = 0; i < std::min(first.node_size(), second.node_size()); ++i) {
    if (first.node(i).SerializeAsString() == second.node(i).SerializeAsString()) continue;
    throw std::runtime_error("dynamic batch export impossible: ONNX node '" + first.node(i).name() + "' (" +
                             first.node(i).op_type() + ") differs between batch " + std::to_string(first_batch) +
                             " and batch " + std::to_string(second_batch) +
                             "; its conversion depends on the traced batch size");
  }
  if (first.node_size() != second.node_size())
    throw std::runtime_error("dynamic batch export impossible: the ONNX graph has a different number of nodes at batch " +
                             std::to_string(first_batch) + " and at batch " + std::to_string(second_batch));
}

std::map<std::string, int64_t> count_op_types(const onnx::GraphProto& graph) {
  std::map<std::string, int64_t> counts;
  for (const auto& node : graph.node()) ++counts[node.op_type()];
  return counts;
}

std::vector<GraphIo> graph_io(const std::string& stem, const std::vector<torch::Tensor>& tensors) {
  std::vector<GraphIo> io;
  for (size_t i = 0; i < tensors.size(); ++i)
    io.push_back({runtime::graph_io_name(stem, i, tensors.size()), tensors[i].sizes().vec(), tensors[i].scalar_type(), {}});
  return io;
}

// For a dynamic batch: every input's dimension 0 is the batch; an output's dimensions are symbolic
// where their traced sizes differ between the two traces ("batch_size" where they are the batch, as
// dimension 1 of an LSTM's h_n is), so an output that does not follow the batch stays fixed.
void mark_batch_dims(std::vector<GraphIo>& inputs, std::vector<GraphIo>& outputs, int64_t batch,
                     const std::vector<torch::Tensor>& outputs_at_other_batch, int64_t other_batch) {
  for (auto& input : inputs) input.symbolic_dims[0] = "batch_size";
  if (outputs_at_other_batch.size() != outputs.size())
    throw std::runtime_error("dynamic batch export impossible: the forward returns " + std::to_string(outputs.size()) +
                             " tensors at batch " + std::to_string(batch) + " but " +
                             std::to_string(outputs_at_other_batch.size()) + " at batch " + std::to_string(other_batch));
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto& output = outputs[i];
    const auto other_shape = outputs_at_other_batch[i].sizes();
    if (other_shape.size() != output.shape.size())
      throw std::runtime_error("dynamic batch export impossible: " + output.name + " has rank " +
                               std::to_string(output.shape.size()) + " at batch " + std::to_string(batch) + " and " +
                               std::to_string(other_shape.size()) + " at batch " + std::to_string(other_batch));
    for (size_t dim = 0; dim < output.shape.size(); ++dim) {
      if (output.shape[dim] == other_shape[dim]) continue;
      const bool is_batch = output.shape[dim] == batch && other_shape[dim] == other_batch;
      output.symbolic_dims[dim] = is_batch ? "batch_size" : output.name + "_dim" + std::to_string(dim);
    }
  }
}

}  // namespace

ExportReport export_traced(const TraceAtBatch& trace, const std::string& output_path, const TracedExportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.batch_size < 1) throw std::invalid_argument("batch_size must be at least 1");
  if (options.opset < kMinOpset || options.opset > kMaxOpset)
    throw std::invalid_argument("--opset_version " + std::to_string(options.opset) + " is not supported; use " +
                                std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset));
  ExportReport report;
  auto& phases = report.phases;

  const auto traced = timed(phases, "trace", [&] { return trace(options.batch_size); });
  DeferredInitializers initializer_data;
  auto graph = timed(phases, "convert", [&] { return convert_graph(traced, options.opset, initializer_data); });
  auto inputs = graph_io("input", traced.inputs);
  auto outputs = graph_io("output", traced.outputs);
  if (options.dynamic_batch) {
    timed(phases, "check batch independence", [&] {
      const auto other_batch = options.batch_size + 1;
      const auto other = trace(other_batch);
      require_batch_independent(*traced.graph, options.batch_size, *other.graph, other_batch);
      DeferredInitializers other_data;
      require_same_onnx_nodes(graph, options.batch_size, convert_graph(other, options.opset, other_data), other_batch);
      mark_batch_dims(inputs, outputs, options.batch_size, other.outputs, other_batch);
    });
  }
  const int folded = timed(phases, "optimise", [&] {
    declare_graph_io(graph, inputs, outputs);
    remove_identities(graph);
    const int folded_count = fold_batch_norm_into_conv(graph, initializer_data);
    remove_dead_nodes(graph);
    return folded_count;
  });
  if (options.embedded_preprocessing) {
    timed(phases, "embed preprocessing",
          [&] { embed_preprocessing(graph, *options.embedded_preprocessing, initializer_data); });
  }

  auto model = timed(phases, "build model",
                     [&] { return build_model(std::move(graph), options.opset, options.metadata); });
  timed(phases, "validate", [&] { validate_model(model, initializer_data); });
  timed(phases, "write", [&] { write_model_atomically(model, output_path, initializer_data); });

  report.path = output_path;
  report.node_count = model.graph().node_size();
  report.initializer_count = model.graph().initializer_size();
  report.folded_batch_norms = folded;
  report.aten_ops = count_node_kinds(*traced.graph);
  report.onnx_ops = count_op_types(model.graph());
  report.elapsed_ms = milliseconds_since(start);
  return report;
}

ExportReport export_to_onnx(torch::nn::Module& module, const ForwardFn& forward, const std::string& output_path,
                            const ExportOptions& options) {
  if (options.input_shape.size() != 3)
    throw std::invalid_argument("input_shape must be {channels, height, width}, got " +
                                std::to_string(options.input_shape.size()) + " values");
  const auto trace = [&](int64_t batch_size) {
    return trace_module(module, forward, example_input(module, options, batch_size));
  };
  return export_traced(trace, output_path, options);
}

ExportReport export_to_onnx(models::ClassifierImpl& model, const std::string& output_path,
                            const ExportOptions& options) {
  return export_to_onnx(
      model, [&model](const torch::Tensor& input) { return model.forward(input); }, output_path, options);
}

}  // namespace mltk::onnx_export
