#include "mltk/inference/winograd_convolution.h"

#include "mltk/common/logging.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/custom_class.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace mltk::inference {

namespace {

using dnnl::memory;

std::atomic<int64_t> plans_on_winograd{0}, plans_on_direct{0}, plans_on_libtorch{0};

// LibTorch calls the same libdnnl; one CPU engine serves every convolution.
const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// How an activation between two rewritten convolutions is laid out: oneDNN's nChw16c (blocks of 16
// channels innermost), the layout its Winograd kernels read and write, so that a chain of them runs
// without converting. Such a tensor keeps its NCHW sizes; only the two nodes see its bytes.
memory::desc layout(const memory::dims& dims, bool blocked) {
  return memory::desc(dims, memory::data_type::f32, blocked ? memory::format_tag::nChw16c : memory::format_tag::nchw);
}

// A float tensor's values in the other layout (see `layout`), with the same sizes.
at::Tensor relayout(const at::Tensor& tensor, bool from_blocked) {
  const auto source = tensor.to(at::kFloat).contiguous();
  auto result = at::empty_like(source);
  const memory::dims dims = source.sizes().vec();
  memory from(layout(dims, from_blocked), cpu_engine(), source.data_ptr()),
      to(layout(dims, !from_blocked), cpu_engine(), result.data_ptr());
  dnnl::stream stream(cpu_engine());
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return result;
}

// The input and output in the kernel's layout where they arrive or leave in another, and oneDNN's
// scratchpad, for the convolution running on this thread: kept from call to call and shared by all
// the graph's convolutions, which run one after the other. Buffers of tens of megabytes allocated
// afresh for every call cost more in the kernel's page faults than Winograd saves.
struct Workspace {
  at::Tensor source, destination, scratchpad;
};

memory workspace_memory(at::Tensor& storage, const memory::desc& desc) {
  const auto bytes = static_cast<int64_t>(desc.get_size());
  if (!storage.defined() || storage.numel() < bytes) {
    storage = at::empty({std::max<int64_t>(bytes, 1)}, at::TensorOptions().dtype(at::kByte));
  }
  return memory(desc, cpu_engine(), storage.data_ptr());
}

// A convolution's stride, padding and dilation, each the same for both spatial dimensions or not.
struct Geometry {
  std::vector<int64_t> stride, padding, dilation;

  // Stride 1, padding 1, dilation 1: with a 3x3 kernel, what oneDNN's Winograd kernels compute.
  bool unstrided_same() const {
    return stride == std::vector<int64_t>{1, 1} && padding == std::vector<int64_t>{1, 1} &&
           dilation == std::vector<int64_t>{1, 1};
  }
};

// One convolution of the graph: its folded weight and bias, what follows it in the same node, and a
// oneDNN primitive with its prepared weights for each input size it has seen.
class ChainedConvolution : public torch::CustomClassHolder {
 public:
  ChainedConvolution(at::Tensor weight, c10::optional<at::Tensor> bias, Geometry geometry, bool winograd,
                     bool adds_residual, bool relu)
      : weight_(weight.contiguous()),
        bias_(bias ? c10::optional<at::Tensor>(bias->contiguous()) : c10::nullopt),
        geometry_(std::move(geometry)),
        winograd_(winograd),
        adds_residual_(adds_residual),
        relu_(relu) {}

  int64_t output_channels() const { return weight_.size(0); }

  // Whether the input, the residual and the output are in the blocked layout (see `layout`): set by
  // the rewrite, which knows what produces and consumes them.
  void set_layouts(bool input_blocked, bool residual_blocked, bool output_blocked) {
    input_blocked_ = input_blocked;
    residual_blocked_ = residual_blocked;
    output_blocked_ = output_blocked;
  }

  // Set by the rewrite when nothing reads the residual after this node and it is a buffer of its own
  // (another node's output): the convolution then adds into it instead of into a copy.
  void set_residual_reusable(bool reusable) { residual_reusable_ = reusable; }

  at::Tensor run(const at::Tensor& input, const c10::optional<at::Tensor>& residual) {
    if (input.dim() != 4 || input.size(1) != weight_.size(1)) return reference(input, residual);
    const auto output_size = [&](int64_t batch) {
      return std::vector<int64_t>{batch, weight_.size(0), output_side(input.size(2), 0), output_side(input.size(3), 1)};
    };
    const bool runnable =
        input.scalar_type() == at::kFloat && input.device().is_cpu() && adds_residual_ == residual.has_value() &&
        output_size(1)[2] > 0 && output_size(1)[3] > 0 &&
        (!residual || (residual->scalar_type() == at::kFloat && residual->sizes() == output_size(input.size(0))));
    const Plan* plan = runnable ? plan_for(input.size(0), input.size(2), input.size(3)) : nullptr;
    if (plan == nullptr) return reference(input, residual);
    // A plan for a larger batch runs this one padded with zero images, whose outputs are dropped. The
    // batch is the outermost dimension of both layouts, so padding and narrowing work on either.
    const int64_t padding = plan->batch - input.size(0);
    const auto padded = [padding](const at::Tensor& tensor) {
      return padding == 0 ? tensor.contiguous() : at::constant_pad_nd(tensor, {0, 0, 0, 0, 0, 0, 0, padding});
    };
    const auto& kernel = plan->primitive_desc;
    thread_local Workspace workspace;
    dnnl::stream stream(cpu_engine());
    const auto source = padded(input);
    memory given_source(layout(source.sizes().vec(), input_blocked_), cpu_engine(), source.data_ptr());
    memory kernel_source = given_source;
    if (given_source.get_desc() != kernel.src_desc()) {
      kernel_source = workspace_memory(workspace.source, kernel.src_desc());
      dnnl::reorder(given_source, kernel_source).execute(stream, given_source, kernel_source);
    }
    // The sum post-op adds the convolution to what the destination holds: the residual itself where
    // it may be overwritten and is laid out as the output, else a copy of it.
    const bool into_residual = residual_reusable_ && residual && padding == 0 && residual->is_contiguous() &&
                               residual_blocked_ == output_blocked_ && residual->data_ptr() != input.data_ptr() &&
                               layout(residual->sizes().vec(), residual_blocked_) == kernel.dst_desc();
    auto output = into_residual ? *residual : at::empty(output_size(plan->batch), source.options());
    memory given_output(layout(output.sizes().vec(), output_blocked_), cpu_engine(), output.data_ptr());
    const bool writes_output = given_output.get_desc() == kernel.dst_desc();
    memory kernel_destination =
        writes_output ? given_output : workspace_memory(workspace.destination, kernel.dst_desc());
    at::Tensor residual_values;
    if (residual && !into_residual) {
      residual_values = padded(*residual);
      memory given_residual(layout(residual_values.sizes().vec(), residual_blocked_), cpu_engine(),
                            residual_values.data_ptr());
      dnnl::reorder(given_residual, kernel_destination).execute(stream, given_residual, kernel_destination);
    }
    auto scratchpad = workspace_memory(workspace.scratchpad, kernel.scratchpad_desc());
    std::unordered_map<int, memory> arguments{{DNNL_ARG_SRC, kernel_source},
                                              {DNNL_ARG_WEIGHTS, *plan->weights},
                                              {DNNL_ARG_DST, kernel_destination},
                                              {DNNL_ARG_SCRATCHPAD, scratchpad}};
    if (bias_) arguments.emplace(DNNL_ARG_BIAS, memory(bias_desc(), cpu_engine(), bias_->data_ptr()));
    plan->primitive.execute(stream, arguments);
    if (!writes_output) dnnl::reorder(kernel_destination, given_output).execute(stream, kernel_destination, given_output);
    stream.wait();
    return padding == 0 ? output : output.narrow(0, 0, input.size(0));
  }

 private:
  struct Plan {
    int64_t batch;
    dnnl::convolution_forward::primitive_desc primitive_desc;
    dnnl::convolution_forward primitive;
    std::shared_ptr<memory> weights;  // shared by the plans whose kernels want the same layout
  };

  // An output's size along spatial dimension `axis` (0: height, 1: width) for an input of `side`.
  int64_t output_side(int64_t side, size_t axis) const {
    const int64_t kernel = weight_.size(2 + axis);
    return (side + 2 * geometry_.padding[axis] - geometry_.dilation[axis] * (kernel - 1) - 1) / geometry_.stride[axis] + 1;
  }

  memory::desc bias_desc() const {
    return memory::desc({weight_.size(0)}, memory::data_type::f32, memory::format_tag::x);
  }

  // The plan for inputs of batch `n` and size `height` x `width`, or for a batch of up to twice `n`
  // already planned for that size (the Winograd weights' layout depends on the batch, and transforming
  // them again takes longer than running a batch padded: ResNet-18's take about a quarter of a second);
  // nullptr when oneDNN has no kernel of the node's algorithm for them.
  const Plan* plan_for(int64_t n, int64_t height, int64_t width) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::array<int64_t, 3> key{n, height, width};
    const auto known = plans_.find(key);
    if (known != plans_.end()) return known->second ? &*known->second : nullptr;
    for (const auto& [planned, plan] : plans_) {  // by batch, smallest first
      if (plan && planned[1] == height && planned[2] == width && planned[0] > n && planned[0] <= 2 * n) return &*plan;
    }
    auto& plan = plans_[key];
    const memory::dims source{n, weight_.size(1), height, width},
        destination{n, weight_.size(0), output_side(height, 0), output_side(width, 1)};
    const auto any = [](const memory::dims& dims) {
      return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
    };
    // oneDNN counts dilation from 0 and wants the padding after the input that the output's size uses.
    memory::dims dilation, padding_after;
    for (size_t axis = 0; axis < 2; ++axis) {
      const int64_t input_side = axis == 0 ? height : width, kernel = weight_.size(2 + axis);
      dilation.push_back(geometry_.dilation[axis] - 1);
      padding_after.push_back((destination[2 + axis] - 1) * geometry_.stride[axis] +
                              geometry_.dilation[axis] * (kernel - 1) + 1 - input_side - geometry_.padding[axis]);
    }
    const auto algorithm = winograd_ ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
    // A direct kernel between blocked neighbours works in their layout. Left to choose, oneDNN takes
    // NHWC for ResNet's strided and 1x1 convolutions, and converting each input to it and each output
    // back cost more than the NHWC kernels saved (ResNet-18 at batch 32: 96 conversions fewer in 8
    // batches, 0.708-0.710 of the direct graph's time against 0.710-0.726).
    const bool chain_layout = !winograd_;
    const auto source_desc = chain_layout && input_blocked_ ? layout(source, true) : any(source);
    const auto destination_desc = chain_layout && output_blocked_ ? layout(destination, true) : any(destination);
    const dnnl::convolution_forward::desc description =
        bias_ ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, source_desc,
                                                any(weight_.sizes().vec()), bias_desc(), destination_desc,
                                                geometry_.stride, dilation, geometry_.padding, padding_after)
              : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, source_desc,
                                                any(weight_.sizes().vec()), destination_desc, geometry_.stride,
                                                dilation, geometry_.padding, padding_after);
    dnnl::post_ops post_ops;
    if (adds_residual_) post_ops.append_sum(1.0f);
    if (relu_) post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attributes;
    attributes.set_post_ops(post_ops);
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc primitive_desc;
    try {
      primitive_desc = dnnl::convolution_forward::primitive_desc(description, attributes, cpu_engine());
    } catch (const dnnl::error&) {
      ++plans_on_libtorch;
      log::debug("No oneDNN {} kernel for a {}x{}x{}x{} input to {} output channels: LibTorch's convolution runs it",
                 winograd_ ? "Winograd" : "direct", n, weight_.size(1), height, width, weight_.size(0));
      return nullptr;
    }
    ++(winograd_ ? plans_on_winograd : plans_on_direct);
    std::shared_ptr<memory> weights;
    for (const auto& [other_key, other] : plans_) {
      if (other && other->primitive_desc.weights_desc() == primitive_desc.weights_desc()) weights = other->weights;
    }
    if (!weights) {
      weights = std::make_shared<memory>(primitive_desc.weights_desc(), cpu_engine());
      memory user_weights(memory::desc(weight_.sizes().vec(), memory::data_type::f32, memory::format_tag::oihw),
                          cpu_engine(), weight_.data_ptr());
      dnnl::stream stream(cpu_engine());
      dnnl::reorder(user_weights, *weights).execute(stream, user_weights, *weights);
      stream.wait();
    }
    plan = Plan{n, primitive_desc, dnnl::convolution_forward(primitive_desc), std::move(weights)};
    return &*plan;
  }

  // What the node computes, by LibTorch's own convolution, in the layouts the node's neighbours use.
  at::Tensor reference(const at::Tensor& input, const c10::optional<at::Tensor>& residual) const {
    const auto plain = [](const at::Tensor& tensor, bool blocked) { return blocked ? relayout(tensor, true) : tensor; };
    const auto x = plain(input, input_blocked_);
    auto output = at::conv2d(x, weight_.to(x.scalar_type()),
                             bias_ ? c10::optional<at::Tensor>(bias_->to(x.scalar_type())) : c10::nullopt,
                             geometry_.stride, geometry_.padding, geometry_.dilation);
    if (residual) output.add_(plain(*residual, residual_blocked_));
    if (relu_) output.relu_();
    return output_blocked_ ? relayout(output, false) : output;
  }

  const at::Tensor weight_;
  const c10::optional<at::Tensor> bias_;
  const Geometry geometry_;
  const bool winograd_, adds_residual_, relu_;
  bool input_blocked_ = false, residual_blocked_ = false, output_blocked_ = false, residual_reusable_ = false;
  std::mutex mutex_;
  std::map<std::array<int64_t, 3>, std::optional<Plan>> plans_;  // nullopt: no oneDNN kernel
};

at::Tensor run_chained_convolution(const c10::intrusive_ptr<ChainedConvolution>& convolution, const at::Tensor& input,
                                   const c10::optional<at::Tensor>& residual) {
  return convolution->run(input, residual);
}

// Two names for one operation, so that a graph says which convolutions run on Winograd.
TORCH_LIBRARY_FRAGMENT(mltk, library) {
  library.class_<ChainedConvolution>("ChainedConvolution");
  for (const char* name : {"winograd_conv2d", "blocked_conv2d"}) {
    const auto schema = std::string(name) +
                        "(__torch__.torch.classes.mltk.ChainedConvolution convolution, Tensor input, Tensor? residual) "
                        "-> Tensor";
    library.def(torch::schema(schema.c_str()), run_chained_convolution);
  }
}

std::optional<c10::IValue> constant(torch::jit::Value* value) { return torch::jit::toIValue(value); }

bool is_int(torch::jit::Value* value, int64_t expected) {
  const auto ivalue = constant(value);
  return ivalue && ivalue->isInt() && ivalue->toInt() == expected;
}

bool is_false(torch::jit::Value* value) {
  const auto ivalue = constant(value);
  return ivalue && ivalue->isBool() && !ivalue->toBool();
}

std::optional<std::vector<int64_t>> int_pair(torch::jit::Value* value) {
  const auto ivalue = constant(value);
  if (!ivalue || !ivalue->isIntList() || ivalue->toIntVector().size() != 2) return std::nullopt;
  return ivalue->toIntVector();
}

// What a rewritten node needs of a convolution with a constant float weight and one group.
struct ConvolutionParameters {
  at::Tensor weight;
  c10::optional<at::Tensor> bias;
  Geometry geometry;
  bool winograd;  // a 3x3 kernel with stride 1, padding 1 and dilation 1
};

std::optional<ConvolutionParameters> convolution_parameters(torch::jit::Node* node) {
  const auto kind = node->kind();
  const bool conv2d = kind == c10::Symbol::fromQualString("aten::conv2d") && node->inputs().size() == 7;
  const bool convolution = kind == c10::Symbol::fromQualString("aten::_convolution") && node->inputs().size() == 13;
  if (!conv2d && !convolution) return std::nullopt;
  const auto stride = int_pair(node->input(3)), padding = int_pair(node->input(4)), dilation = int_pair(node->input(5));
  if (!stride || !padding || !dilation || !is_int(node->input(conv2d ? 6 : 8), 1)) return std::nullopt;
  if (convolution && (!is_false(node->input(6)) || int_pair(node->input(7)) != std::vector<int64_t>{0, 0})) {
    return std::nullopt;
  }
  const auto weight = constant(node->input(1)), bias = constant(node->input(2));
  if (!weight || !weight->isTensor() || !bias || !(bias->isNone() || bias->isTensor())) return std::nullopt;
  const auto& w = weight->toTensor();
  if (w.dim() != 4 || w.scalar_type() != at::kFloat || w.requires_grad()) return std::nullopt;
  if (bias->isTensor() && (bias->toTensor().scalar_type() != at::kFloat || bias->toTensor().numel() != w.size(0))) {
    return std::nullopt;
  }
  ConvolutionParameters parameters{w, bias->isTensor() ? c10::optional<at::Tensor>(bias->toTensor()) : c10::nullopt,
                                   Geometry{*stride, *padding, *dilation}, false};
  parameters.winograd = w.size(2) == 3 && w.size(3) == 3 && parameters.geometry.unstrided_same();
  return parameters;
}

// The only node that reads `value`, if it reads it once.
torch::jit::Node* sole_user(torch::jit::Value* value) {
  return value->uses().size() == 1 ? value->uses().front().user : nullptr;
}

// Which input of `add` is its other operand when it adds `value` (alpha 1) to a tensor; an in-place
// add counts only when it writes into `value`, which nothing else reads.
std::optional<size_t> residual_operand(torch::jit::Value* value, torch::jit::Node* add) {
  if (add == nullptr || add->inputs().size() != 3 || !is_int(add->input(2), 1)) return std::nullopt;
  const bool in_place = add->kind() == c10::Symbol::fromQualString("aten::add_");
  if (!in_place && add->kind() != c10::Symbol::fromQualString("aten::add")) return std::nullopt;
  if (add->input(0) == add->input(1)) return std::nullopt;
  const std::optional<size_t> other = add->input(0) == value ? std::optional<size_t>(1)
                                      : in_place             ? std::nullopt
                                                             : std::optional<size_t>(0);
  if (!other || !add->input(*other)->type()->cast<c10::TensorType>()) return std::nullopt;
  return other;
}

bool is_relu(const torch::jit::Node* node) {
  return node != nullptr && (node->kind() == c10::Symbol::fromQualString("aten::relu") ||
                             node->kind() == c10::Symbol::fromQualString("aten::relu_"));
}

}  // namespace

WinogradPlans winograd_plans() {
  return {plans_on_winograd.load(), plans_on_direct.load(), plans_on_libtorch.load()};
}

int64_t use_winograd_convolutions(torch::jit::Graph& graph) {
  // Each convolution a node can take over, with the addition and ReLU it would take over too.
  struct Candidate {
    torch::jit::Node* convolution = nullptr;
    ConvolutionParameters parameters;
    torch::jit::Node* add = nullptr;  // the residual addition the node takes over, if any
    size_t residual_operand = 0;      // which of add's inputs is the residual
    bool relu = false;
    std::vector<torch::jit::Node*> replaced;
    torch::jit::Value* output = nullptr;  // what the node's output stands for
    bool rewrite = false;
    // Read from the addition each time: rewriting an earlier candidate replaces the value it reads.
    torch::jit::Value* residual() const { return add != nullptr ? add->input(residual_operand) : nullptr; }
  };
  std::vector<Candidate> candidates;
  std::set<torch::jit::Node*> claimed_adds;  // an addition of two convolutions goes to the first
  for (auto* node : graph.nodes()) {
    auto parameters = convolution_parameters(node);
    if (!parameters) continue;
    Candidate candidate;
    candidate.convolution = node;
    candidate.parameters = std::move(*parameters);
    candidate.replaced.push_back(node);
    candidate.output = node->output();
    const auto operand = residual_operand(candidate.output, sole_user(candidate.output));
    if (operand && claimed_adds.insert(sole_user(candidate.output)).second) {
      candidate.add = sole_user(candidate.output);
      candidate.residual_operand = *operand;
      candidate.replaced.push_back(candidate.add);
      candidate.output = candidate.add->output();
    }
    candidate.relu = is_relu(sole_user(candidate.output));
    if (candidate.relu) {
      candidate.replaced.push_back(sole_user(candidate.output));
      candidate.output = candidate.replaced.back()->output();
    }
    candidates.push_back(std::move(candidate));
  }

  // Whether a candidate reads or feeds one of `chosen`.
  const auto next_to = [](const Candidate& candidate, const std::vector<const Candidate*>& chosen) {
    return std::any_of(chosen.begin(), chosen.end(), [&](const Candidate* other) {
      if (other == &candidate) return false;
      const auto reads = [](const Candidate& reader, torch::jit::Value* value) {
        return reader.convolution->input(0) == value || (reader.add != nullptr && reader.residual() == value);
      };
      return reads(candidate, other->output) || reads(*other, candidate.output);
    });
  };
  // A Winograd convolution alone among others that stay on LibTorch's oneDNN path would convert its
  // input and output between layouts, which costs more than Winograd saves (ResNet-50's bottlenecks,
  // where each 3x3 convolution sits between two 1x1 ones, ran 25% slower). So only those next to
  // another are rewritten, and then the other convolutions next to them (ResNet's strided and 1x1
  // shortcut convolutions between stages), so that activations stay in the blocked layout throughout.
  std::vector<const Candidate*> winograd;
  for (const auto& candidate : candidates) {
    if (candidate.parameters.winograd) winograd.push_back(&candidate);
  }
  std::vector<const Candidate*> chained;
  for (auto& candidate : candidates) {
    candidate.rewrite = candidate.parameters.winograd && next_to(candidate, winograd);
    if (candidate.rewrite) chained.push_back(&candidate);
  }
  for (auto& candidate : candidates) {
    if (!candidate.parameters.winograd) candidate.rewrite = next_to(candidate, chained);
  }

  std::map<torch::jit::Node*, c10::intrusive_ptr<ChainedConvolution>> rewritten;
  int64_t on_winograd = 0;
  for (auto& candidate : candidates) {
    if (!candidate.rewrite) continue;
    torch::jit::Value* residual = candidate.residual();
    const bool winograd_kernels = candidate.parameters.winograd;
    auto convolution = c10::make_intrusive<ChainedConvolution>(
        candidate.parameters.weight, candidate.parameters.bias, candidate.parameters.geometry, winograd_kernels,
        residual != nullptr, candidate.relu);
    torch::jit::WithInsertPoint before_last(candidate.replaced.back());
    auto* node = graph.insertNode(graph.create(
        c10::Symbol::fromQualString(winograd_kernels ? kWinogradConvolutionKind : kBlockedConvolutionKind),
        {graph.insertConstant(c10::IValue(convolution)), candidate.convolution->input(0),
         residual != nullptr ? residual : graph.insertConstant(c10::IValue())},
        1));
    node->output()->setType(candidate.output->type());
    candidate.output->replaceAllUsesWith(node->output());
    for (auto replaced = candidate.replaced.rbegin(); replaced != candidate.replaced.rend(); ++replaced) {
      (*replaced)->destroy();
    }
    rewritten.emplace(node, convolution);
    on_winograd += winograd_kernels ? 1 : 0;
  }

  // An output is blocked when only rewritten nodes read it, as their input or residual, and its
  // channels fill whole blocks of 16.
  const auto blocked = [&](torch::jit::Value* value) {
    const auto producer = rewritten.find(value->node());
    if (producer == rewritten.end() || value->uses().empty()) return false;
    if (producer->second->output_channels() % 16 != 0) return false;
    return std::all_of(value->uses().begin(), value->uses().end(), [&](const torch::jit::Use& use) {
      return rewritten.count(use.user) > 0 && (use.offset == 1 || use.offset == 2);
    });
  };
  // A residual another rewritten node produced and that nothing reads after this node.
  const auto reusable = [&](torch::jit::Node* node) {
    torch::jit::Value* residual = node->input(2);
    if (rewritten.count(residual->node()) == 0 || residual == node->input(1)) return false;
    return std::all_of(residual->uses().begin(), residual->uses().end(), [&](const torch::jit::Use& use) {
      return use.user == node || use.user->isBefore(node);
    });
  };
  for (auto& [node, convolution] : rewritten) {
    convolution->set_layouts(blocked(node->input(1)), blocked(node->input(2)), blocked(node->output()));
    convolution->set_residual_reusable(reusable(node));
  }
  return on_winograd;
}

}  // namespace mltk::inference
