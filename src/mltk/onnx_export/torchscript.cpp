#include "mltk/onnx_export/torchscript.h"

#include "mltk/runtime/graph_input.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/lower_graph.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>
#include <unordered_map>

namespace mltk::onnx_export {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string shapes_text(const std::vector<torch::Tensor>& tensors) {
  std::vector<std::string> shapes;
  for (const auto& tensor : tensors) shapes.push_back(fmt::format("[{}]", fmt::join(tensor.sizes(), ", ")));
  return fmt::format("{}", fmt::join(shapes, ", "));
}

void flatten_tensors(const c10::IValue& value, std::vector<torch::Tensor>& tensors) {
  if (value.isTensor()) {
    tensors.push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) flatten_tensors(element, tensors);
  } else if (value.isList()) {
    for (const auto& element : value.toListRef()) flatten_tensors(element, tensors);
  } else {
    throw std::runtime_error("forward returns a " + value.type()->str() +
                             "; only tensors and tuples or lists of tensors can be exported");
  }
}

// The attribute path of every tensor the module holds, parameters and buffers included; a tensor
// held twice (tied weights) keeps its first name.
std::unordered_map<const void*, std::string> tensor_names(const torch::jit::Module& module) {
  std::unordered_map<const void*, std::string> names;
  for (const auto& attribute : module.named_attributes(/*recurse=*/true))
    if (attribute.value.isTensor()) names.emplace(attribute.value.toTensor().unsafeGetTensorImpl(), attribute.name);
  return names;
}

// The parameters LowerGraph made graph inputs, named; an input for a tensor already named is
// merged into the first one, as ONNX initializer names must be unique.
std::vector<std::pair<std::string, torch::Tensor>> name_parameters(torch::jit::Graph& graph, size_t input_count,
                                                                   const std::vector<c10::IValue>& parameters,
                                                                   const torch::jit::Module& module) {
  const auto names = tensor_names(module);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  std::unordered_map<const void*, torch::jit::Value*> seen;
  std::vector<size_t> merged;
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto* input = graph.inputs()[input_count + i];
    if (!parameters[i].isTensor())
      throw std::runtime_error("forward reads a module attribute of type " + parameters[i].type()->str() +
                               " that cannot become an ONNX initializer");
    const auto tensor = parameters[i].toTensor();
    const void* key = tensor.unsafeGetTensorImpl();
    if (auto first = seen.find(key); first != seen.end()) {
      input->replaceAllUsesWith(first->second);
      merged.push_back(input_count + i);
      continue;
    }
    seen.emplace(key, input);
    const auto name = names.find(key);
    named.emplace_back(name != names.end() ? name->second : "parameter_" + std::to_string(named.size()), tensor);
  }
  for (auto index = merged.rbegin(); index != merged.rend(); ++index) graph.eraseInput(*index);
  return named;
}

c10::IValue constructed_list(const torch::jit::Node& node, torch::jit::Stack& stack) {
  c10::impl::GenericList list(node.output()->type()->expectRef<c10::ListType>().getElementType());
  for (auto& value : stack) list.push_back(std::move(value));
  return list;
}

// Runs one node on its input values; the structural nodes are built here because the interpreter
// executes them as instructions rather than operators.
torch::jit::Stack run_node(const torch::jit::Node& node, torch::jit::Stack stack) {
  const auto kind = node.kind();
  if (kind == c10::prim::ListConstruct) return {constructed_list(node, stack)};
  if (kind == c10::prim::TupleConstruct) return {c10::ivalue::Tuple::create(std::move(stack))};
  if (kind == c10::prim::TupleUnpack) {
    const auto elements = stack.at(0).toTupleRef().elements();
    return torch::jit::Stack(elements.begin(), elements.end());
  }
  if (kind == c10::prim::ListUnpack) {
    const auto list = stack.at(0).toListRef();
    if (list.size() != node.outputs().size())
      throw std::runtime_error("a list of " + std::to_string(list.size()) + " elements is unpacked into " +
                               std::to_string(node.outputs().size()) + " values");
    return torch::jit::Stack(list.begin(), list.end());
  }
  const auto* op = node.maybeOperator();
  if (op == nullptr) throw std::runtime_error("node `" + describe_node(node) + "` cannot be run outside TorchScript");
  op->getOperation(&node)(stack);
  return stack;
}

// Branches and loops that constant propagation could not fold depend on the inputs' values.
void require_straight_line(const torch::jit::Graph& graph) {
  for (const auto* node : graph.nodes())
    if (!node->blocks().empty())
      throw std::runtime_error("forward has control flow that depends on its inputs (`" + describe_node(*node) +
                               "`). Export a torch.jit.trace of the module, which records the path taken, "
                               "rather than a torch.jit.script");
}

// Executes the straight-line graph on `inputs` (graph inputs in order), giving every tensor value
// the complete type (shape, dtype) it has in this run; returns the graph's output values.
std::vector<c10::IValue> record_shapes(torch::jit::Graph& graph, const std::vector<c10::IValue>& inputs) {
  std::unordered_map<const torch::jit::Value*, c10::IValue> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    values.emplace(graph.inputs()[i], inputs[i]);
    if (inputs[i].isTensor()) graph.inputs()[i]->setType(c10::TensorType::create(inputs[i].toTensor()));
  }
  for (auto* node : graph.nodes()) {
    if (node->kind() == c10::prim::Constant) {
      values.emplace(node->output(), *torch::jit::toIValue(node->output()));
      continue;
    }
    torch::jit::Stack stack;
    for (const auto* input : node->inputs()) stack.push_back(values.at(input));
    torch::jit::Stack results;
    try {
      results = run_node(*node, std::move(stack));
    } catch (const c10::Error& error) {
      throw std::runtime_error(first_line(error.what_without_backtrace()) + " (at `" + describe_node(*node) + "`)");
    }
    if (results.size() != node->outputs().size())
      throw std::logic_error("node `" + describe_node(*node) + "` gave " + std::to_string(results.size()) +
                             " results for " + std::to_string(node->outputs().size()) + " outputs");
    for (size_t i = 0; i < results.size(); ++i) {
      // An undefined tensor stands for an output not computed (attention weights not asked for).
      if (results[i].isTensor() && results[i].toTensor().defined())
        node->output(i)->setType(c10::TensorType::create(results[i].toTensor()));
      values.emplace(node->output(i), std::move(results[i]));
    }
  }
  std::vector<c10::IValue> outputs;
  for (const auto* output : graph.outputs()) outputs.push_back(values.at(output));
  return outputs;
}

}  // namespace

torch::jit::Module load_torchscript(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw std::runtime_error("TorchScript file not found: " + path);
  try {
    auto module = torch::jit::load(path, torch::kCPU);
    module.eval();
    return module;
  } catch (const c10::Error& error) {
    throw std::runtime_error(path + " is not a TorchScript file (" + first_line(error.what_without_backtrace()) +
                             "). Write one with torch.jit.save(torch.jit.trace(model, example), path) in Python or "
                             "torch::jit::Module::save in C++; a checkpoint written by ml-train is exported with "
                             "--checkpoint_path");
  }
}

void require_tensor_arguments(const torch::jit::Module& module, size_t input_count) {
  const auto method = module.find_method("forward");
  if (!method) throw std::runtime_error("the TorchScript module has no forward method");
  const auto& arguments = method->function().getSchema().arguments();
  std::vector<std::string> names;
  for (size_t i = 1; i < arguments.size(); ++i) {
    const auto& argument = arguments[i];
    if (!argument.type()->isSubtypeOf(*c10::TensorType::get()))
      throw std::runtime_error("forward takes argument '" + argument.name() + "' of type " + argument.type()->str() +
                               "; only modules whose forward takes tensors can be exported");
    names.push_back(argument.name());
  }
  if (names.size() != input_count)
    throw std::runtime_error(fmt::format("forward takes {} tensor{} ({}) but {} --input_shape {} given: give one "
                                         "shape per argument, in order",
                                         names.size(), names.size() == 1 ? "" : "s", fmt::join(names, ", "),
                                         input_count, input_count == 1 ? "was" : "were"));
}

std::vector<torch::Tensor> run_script_forward(const torch::jit::Module& module, const std::vector<torch::Tensor>& inputs) {
  torch::NoGradGuard no_grad;
  std::vector<c10::IValue> arguments(inputs.begin(), inputs.end());
  std::vector<torch::Tensor> outputs;
  flatten_tensors(module.get_method("forward")(std::move(arguments)), outputs);
  return outputs;
}

TracedModule lower_script_forward(const torch::jit::Module& module, const std::vector<torch::Tensor>& inputs) {
  torch::NoGradGuard no_grad;
  auto graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  auto lowered = torch::jit::LowerGraph(*graph, module._ivalue());
  TracedModule traced;
  traced.graph = lowered.first;
  traced.input_count = inputs.size();
  traced.parameters = name_parameters(*traced.graph, inputs.size(), lowered.second, module);
  torch::jit::ConstantPropagation(traced.graph);
  torch::jit::EliminateDeadCode(traced.graph);

  require_straight_line(*traced.graph);
  std::vector<c10::IValue> values(inputs.begin(), inputs.end());
  for (const auto& parameter : traced.parameters) values.emplace_back(parameter.second);
  std::vector<c10::IValue> results;
  try {
    results = record_shapes(*traced.graph, values);
  } catch (const std::runtime_error& error) {
    throw std::runtime_error("forward fails on inputs of shape " + shapes_text(inputs) + ": " + error.what() +
                             ". Check --input_shape");
  }
  traced.inputs = inputs;
  for (const auto& result : results) flatten_tensors(result, traced.outputs);
  return traced;
}

ExportReport export_script_module(const torch::jit::Module& module, const std::string& output_path,
                                  const ScriptExportOptions& options) {
  require_tensor_arguments(module, options.input_shapes.size());
  // The seed only has to differ from the validation's so that the export is not checked on the very
  // inputs it was traced with.
  constexpr uint64_t kTraceSeed = 7;
  const auto trace = [&](int64_t batch_size) {
    auto generator = at::detail::createCPUGenerator(kTraceSeed);
    return lower_script_forward(module, runtime::standard_normal_inputs(options.input_shapes, batch_size, generator));
  };
  return export_traced(trace, output_path, options);
}

}  // namespace mltk::onnx_export
