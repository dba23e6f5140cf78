#include "mltk/inference/frozen_forward.h"

#include "mltk/common/logging.h"
#include "mltk/inference/winograd_convolution.h"
#include "mltk/onnx_export/trace.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>
#include <torch/torch.h>

namespace mltk::inference {

namespace {

// The trace with every parameter and buffer turned from a graph input into a constant, which is
// what the frozen-graph passes look for, then optimised by them.
std::unique_ptr<torch::jit::GraphFunction> frozen_function(const onnx_export::TracedModule& traced,
                                                           bool winograd_convolutions) {
  auto graph = traced.graph;
  {
    torch::jit::WithInsertPoint at_start(graph->block()->nodes().front());
    for (size_t i = traced.parameters.size(); i-- > 0;) {
      const size_t index = traced.input_count + i;
      // Detached: a constant must not require grad; it shares the parameter's storage.
      graph->inputs()[index]->replaceAllUsesWith(graph->insertConstant(traced.parameters[i].second.detach()));
      graph->eraseInput(index);
    }
  }  // the passes below may remove the node inserted before
  torch::jit::OptimizeFrozenGraph(graph, /*optimize_numerics=*/true);
  // After batch-norm folding, so that the Winograd nodes take the folded weights and bias.
  if (winograd_convolutions) {
    const auto on_winograd = use_winograd_convolutions(*graph);
    if (on_winograd > 0) log::debug("{} unstrided 3x3 convolutions of the frozen graph run on Winograd kernels", on_winograd);
  }
  torch::jit::FuseFrozenConvAddRelu(graph);
  torch::jit::ConvertFrozenOpsToMKLDNN(graph);
  torch::jit::FrozenLinearTranspose(graph);
  // The simple executor runs the graph as optimised here; the profiling one would first spend
  // runs recording shapes for fusions that LibTorch does not do on the CPU.
  return std::make_unique<torch::jit::GraphFunction>("frozen_forward", graph, nullptr,
                                                     torch::jit::ExecutorExecutionMode::SIMPLE);
}

// `images`' first sample repeated `batch_size` times: an input for tracing at that batch size.
torch::Tensor example_batch(const torch::Tensor& images, int64_t batch_size) {
  auto shape = images.sizes().vec();
  shape[0] = batch_size;
  return images.narrow(0, 0, 1).expand(shape).contiguous();
}

// Some of LibTorch's frozen kernels warn, on every call, that they resized an output buffer of their
// own (a deprecation inside LibTorch that a user cannot act on); such warnings go to --verbose.
class WarningsToDebugLog : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation& location, const std::string& message, bool /*verbatim*/) override {
    log::debug("LibTorch warning at {}:{}: {}", location.file, location.line, message);
  }
};

}  // namespace

FrozenForward::FrozenForward(torch::nn::Module& module, pipeline::ForwardFn eager, bool winograd_convolutions)
    : module_(module), eager_(std::move(eager)), winograd_convolutions_(winograd_convolutions) {}

FrozenForward::~FrozenForward() = default;

torch::jit::GraphFunction* FrozenForward::graph_for(const torch::Tensor& images) {
  const auto shape = images.sizes().vec();
  const std::vector<int64_t> sample_shape(shape.begin() + 1, shape.end());
  const auto known = graphs_.find(sample_shape);
  auto& graphs = known != graphs_.end() ? known->second : graphs_[sample_shape];
  const bool first_sight = known == graphs_.end();
  try {
    if (first_sight) {
      auto at_one = onnx_export::trace_module(module_, eager_, example_batch(images, 1));
      auto at_two = onnx_export::trace_module(module_, eager_, example_batch(images, 2));
      bool independent = true;
      try {
        onnx_export::require_batch_independent(*at_one.graph, 1, *at_two.graph, 2);
      } catch (const std::runtime_error&) {
        independent = false;
      }
      if (independent) {
        graphs.any_batch = frozen_function(at_one, winograd_convolutions_);
      } else {
        graphs.batch_dependent = true;
        // The trace at this batch size is already there when it is 1 or 2: freeze it, not a third.
        if (shape[0] == 1) graphs.by_batch[1] = frozen_function(at_one, winograd_convolutions_);
        if (shape[0] == 2) graphs.by_batch[2] = frozen_function(at_two, winograd_convolutions_);
      }
    }
    if (graphs.any_batch || !graphs.batch_dependent) return graphs.any_batch.get();
    auto& by_batch = graphs.by_batch[shape[0]];
    if (!by_batch) by_batch = frozen_function(onnx_export::trace_module(module_, eager_, images), winograd_convolutions_);
    return by_batch.get();
  } catch (const std::exception& e) {
    log::warning("Running the model eagerly for inputs of shape {}: its frozen graph could not be built ({})",
                 fmt::join(shape, "x"), e.what());
    graphs.batch_dependent = false;  // with no any_batch graph: eager from now on
    graphs.any_batch.reset();
    return nullptr;
  }
}

torch::Tensor FrozenForward::operator()(const torch::Tensor& images) {
  auto* function = graph_for(images);
  if (function == nullptr) return eager_(images);
  torch::NoGradGuard no_grad;
  WarningsToDebugLog to_debug_log;
  c10::Warning::WarningHandlerGuard quiet(&to_debug_log);
  return (*function)({images}).toTensor();
}

const torch::jit::GraphFunction* FrozenForward::find_graph(const std::vector<int64_t>& shape) const {
  if (shape.empty()) return nullptr;
  const auto found = graphs_.find(std::vector<int64_t>(shape.begin() + 1, shape.end()));
  if (found == graphs_.end()) return nullptr;
  if (found->second.any_batch) return found->second.any_batch.get();
  const auto by_batch = found->second.by_batch.find(shape.at(0));
  return by_batch == found->second.by_batch.end() ? nullptr : by_batch->second.get();
}

std::map<std::string, int64_t> FrozenForward::node_kinds(const std::vector<int64_t>& shape) const {
  const auto* function = find_graph(shape);
  if (function == nullptr) return {};
  return onnx_export::count_node_kinds(*function->graph());
}

}  // namespace mltk::inference
