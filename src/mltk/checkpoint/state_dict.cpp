#include "mltk/checkpoint/state_dict.h"

#include <torch/utils.h>

#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mltk::checkpoint {
namespace {

std::string shape_text(const torch::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

std::string join_limited(const std::vector<std::string>& items, size_t limit = 8) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size() - limit) + " more)";
  return out;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Whether `given` can become `own`'s data unchanged: same type, device and memory layout.
bool can_share(const torch::Tensor& own, const torch::Tensor& given) {
  return own.dtype() == given.dtype() && own.device() == given.device() && own.strides() == given.strides() &&
         !given.requires_grad();
}

}  // namespace

StateDict state_dict_of(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value().detach());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value().detach());
  return out;
}

void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source, LoadMode mode) {
  // The module's own tensors, not detached views, so that LoadMode::share can replace their data.
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) targets.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) targets.emplace(item.key(), item.value());
  std::map<std::string, const torch::Tensor*> given;
  for (const auto& [name, tensor] : state) given.emplace(name, &tensor);

  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, tensor] : targets) {
    auto it = given.find(name);
    if (it == given.end()) {
      // Weight files saved before BatchNorm tracked its batch count lack this buffer; PyTorch
      // accepts them and starts the count at zero, and so do we.
      if (!ends_with(name, ".num_batches_tracked")) missing.push_back(name);
    }
    else if (it->second->sizes() != tensor.sizes())
      mismatched.push_back(name + " (file " + shape_text(*it->second) + ", model " + shape_text(tensor) + ")");
  }
  for (const auto& [name, tensor] : given)
    if (!targets.count(name)) unexpected.push_back(name);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string message = source + ": weights do not fit the model";
    if (!missing.empty()) message += "; missing keys: " + join_limited(missing);
    if (!unexpected.empty()) message += "; unexpected keys: " + join_limited(unexpected);
    if (!mismatched.empty()) message += "; shape mismatches: " + join_limited(mismatched);
    throw std::runtime_error(message);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : targets) {
    auto it = given.find(name);
    if (it == given.end()) tensor.zero_();
    else if (mode == LoadMode::share && can_share(tensor, *it->second)) tensor.set_data(*it->second);
    else tensor.copy_(*it->second);
  }
}

StateDict state_dict_from_ivalue(const c10::IValue& value, const std::string& source) {
  if (!value.isGenericDict()) throw std::runtime_error(source + ": expected a dict of tensors");
  StateDict out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw std::runtime_error(source + ": expected a dict of name -> tensor, found a " +
                               entry.key().tagKind() + " -> " + entry.value().tagKind() + " entry");
    out.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return out;
}

c10::IValue state_dict_to_ivalue(const StateDict& state) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : state) dict.insert(name, tensor.contiguous());
  return dict;
}

}  // namespace mltk::checkpoint
