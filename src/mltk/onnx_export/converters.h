#pragma once
// The per-operator registry, in the spirit of PyTorch's torch/onnx/symbolic_opset*.py: one conversion
// function per aten operator and ONNX opset range. A conversion function reads the current node through
// the context, emits ONNX nodes valid for ctx.opset() and returns the ONNX names of its results.
#include "mltk/onnx_export/conversion_context.h"
#include "mltk/onnx_export/opset.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mltk::onnx_export {

// Returns the ONNX name of the node's single tensor output.
using Converter = std::function<std::string(ConversionContext&)>;
// Returns one ONNX name per element of the node's single list output (aten::chunk, ...), or one
// per output of a node with several outputs (aten::max with indices, aten::topk, ...).
using MultiConverter = std::function<std::vector<std::string>(ConversionContext&)>;

// Inclusive range of ONNX opsets a conversion function is valid for.
struct OpsetRange {
  int first = kMinOpset;
  int last = kMaxOpset;
  bool contains(int opset) const { return first <= opset && opset <= last; }
};

// What the converted node's results are: one tensor, a list of tensors, or several outputs.
enum class ResultKind { Tensor, TensorList, Outputs };

struct ConverterEntry {
  std::string aten_operator;  // "aten::relu"
  OpsetRange opsets;
  ResultKind result = ResultKind::Tensor;
  Converter convert;            // when result == Tensor
  MultiConverter convert_many;  // otherwise
  // Every ONNX operator type the function can emit (Constant aside, which any function may emit).
  std::set<std::string> emits;
};

class ConverterRegistry {
 public:
  // Throw std::logic_error when the operator already has a function for an overlapping opset range,
  // or when the range lies outside kMinOpset..kMaxOpset.
  void add(const std::string& aten_operator, std::set<std::string> emits, Converter convert, OpsetRange opsets = {});
  void add_list(const std::string& aten_operator, std::set<std::string> emits, MultiConverter convert,
                OpsetRange opsets = {});
  void add_outputs(const std::string& aten_operator, std::set<std::string> emits, MultiConverter convert,
                   OpsetRange opsets = {});
  // nullptr when the operator has no function at that opset.
  const ConverterEntry* find(const std::string& aten_operator, int opset) const;
  // The opsets at which the operator converts (empty when unknown), for error messages.
  std::vector<int> opsets_of(const std::string& aten_operator) const;
  const std::vector<ConverterEntry>& entries() const { return entries_; }

 private:
  void add_entry(ConverterEntry entry);
  std::vector<ConverterEntry> entries_;
  std::multimap<std::string, size_t> by_operator_;
};

// The registry of every supported operator, built once.
const ConverterRegistry& converter_registry();

// A 1-D int64 ONNX tensor for the int[] argument `index`, which is either a compile-time list or a
// list built at run time from sizes (aten::size results). aten::expand's "-1 = keep this dimension"
// becomes 1 when `minus_one_as_one`, as ONNX Expand broadcasts a 1 to the input's size.
std::string int_list_tensor(ConversionContext& ctx, size_t index, bool minus_one_as_one = false);

// For aten operators that map one-to-one to a parameterless, single-input ONNX operator.
Converter unary_converter(const std::string& onnx_type);

// A per-channel parameter [C] reshaped to [C, 1, ...] so that it broadcasts over dimension 1 of an
// input of `rank` dimensions, as torch applies it; ONNX broadcasts from the trailing dimensions.
std::string per_channel(ConversionContext& ctx, const std::string& parameter, int64_t rank);

// Refuses a dtype argument at input `index` (absent or None is fine): ONNX reductions and softmax
// compute in the input's dtype.
void require_no_dtype(ConversionContext& ctx, size_t index);

// Each ops_*.cpp file registers its family of operators.
void register_convolution_ops(ConverterRegistry& registry);
void register_activation_ops(ConverterRegistry& registry);
void register_arithmetic_ops(ConverterRegistry& registry);
void register_shape_ops(ConverterRegistry& registry);
void register_normalization_ops(ConverterRegistry& registry);
void register_creation_ops(ConverterRegistry& registry);
void register_math_ops(ConverterRegistry& registry);
void register_reduction_ops(ConverterRegistry& registry);
void register_indexing_ops(ConverterRegistry& registry);
void register_resampling_ops(ConverterRegistry& registry);
void register_attention_ops(ConverterRegistry& registry);
void register_recurrent_ops(ConverterRegistry& registry);

}  // namespace mltk::onnx_export
