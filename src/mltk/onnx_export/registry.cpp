#include "mltk/onnx_export/converters.h"

#include <stdexcept>

namespace mltk::onnx_export {
namespace {

std::string range_text(const OpsetRange& range) {
  return std::to_string(range.first) + ".." + std::to_string(range.last);
}

}  // namespace

Converter unary_converter(const std::string& onnx_type) {
  return [onnx_type](ConversionContext& ctx) { return ctx.op(onnx_type, {ctx.input(0)}); };
}

void ConverterRegistry::add_entry(ConverterEntry entry) {
  const auto& range = entry.opsets;
  if (range.first > range.last || range.first < kMinOpset || range.last > kMaxOpset)
    throw std::logic_error(entry.aten_operator + ": opset range " + range_text(range) + " is not within " +
                           range_text({kMinOpset, kMaxOpset}));
  const auto [first, last] = by_operator_.equal_range(entry.aten_operator);
  for (auto it = first; it != last; ++it) {
    const auto& other = entries_[it->second].opsets;
    if (other.first <= range.last && range.first <= other.last)
      throw std::logic_error(entry.aten_operator + " is registered twice: opsets " + range_text(range) +
                             " overlap opsets " + range_text(other));
  }
  by_operator_.emplace(entry.aten_operator, entries_.size());
  entries_.push_back(std::move(entry));
}

void ConverterRegistry::add(const std::string& aten_operator, std::set<std::string> emits, Converter convert,
                            OpsetRange opsets) {
  add_entry({aten_operator, opsets, ResultKind::Tensor, std::move(convert), {}, std::move(emits)});
}

void ConverterRegistry::add_list(const std::string& aten_operator, std::set<std::string> emits,
                                 MultiConverter convert, OpsetRange opsets) {
  add_entry({aten_operator, opsets, ResultKind::TensorList, {}, std::move(convert), std::move(emits)});
}

void ConverterRegistry::add_outputs(const std::string& aten_operator, std::set<std::string> emits,
                                    MultiConverter convert, OpsetRange opsets) {
  add_entry({aten_operator, opsets, ResultKind::Outputs, {}, std::move(convert), std::move(emits)});
}

const ConverterEntry* ConverterRegistry::find(const std::string& aten_operator, int opset) const {
  const auto [first, last] = by_operator_.equal_range(aten_operator);
  for (auto it = first; it != last; ++it)
    if (entries_[it->second].opsets.contains(opset)) return &entries_[it->second];
  return nullptr;
}

std::vector<int> ConverterRegistry::opsets_of(const std::string& aten_operator) const {
  std::vector<int> opsets;
  for (int opset = kMinOpset; opset <= kMaxOpset; ++opset)
    if (find(aten_operator, opset)) opsets.push_back(opset);
  return opsets;
}

const ConverterRegistry& converter_registry() {
  static const ConverterRegistry registry = [] {
    ConverterRegistry built;
    register_convolution_ops(built);
    register_activation_ops(built);
    register_arithmetic_ops(built);
    register_shape_ops(built);
    register_normalization_ops(built);
    register_creation_ops(built);
    register_math_ops(built);
    register_reduction_ops(built);
    register_indexing_ops(built);
    register_resampling_ops(built);
    register_attention_ops(built);
    register_recurrent_ops(built);
    return built;
  }();
  return registry;
}

}  // namespace mltk::onnx_export
