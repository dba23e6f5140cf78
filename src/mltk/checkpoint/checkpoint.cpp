#include "mltk/checkpoint/checkpoint.h"

#include "mltk/checkpoint/torch_file_reader.h"
#include "mltk/common/atomic_file.h"

#include <torch/serialize.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace mltk::checkpoint {
namespace {

using c10::IValue;

class DictReader {
 public:
  DictReader(const IValue& value, std::string path, std::string where)
      : path_(std::move(path)), where_(std::move(where)) {
    if (!value.isGenericDict()) fail("is not a dict");
    dict_ = value.toGenericDict();
  }

  const IValue& get(const std::string& key) const {
    auto it = dict_.find(key);
    if (it == dict_.end()) fail("has no '" + key + "' entry");
    return it->value();
  }
  bool has(const std::string& key) const { return dict_.find(key) != dict_.end(); }
  std::string string(const std::string& key) const {
    const IValue& v = get(key);
    if (!v.isString()) fail("'" + key + "' is not a string");
    return v.toStringRef();
  }
  int64_t integer(const std::string& key) const {
    const IValue& v = get(key);
    if (!v.isInt()) fail("'" + key + "' is not an integer");
    return v.toInt();
  }
  std::array<double, 3> triple(const std::string& key) const {
    const IValue& v = get(key);
    std::vector<IValue> items;
    if (v.isList()) items = v.toListRef().vec();
    else if (v.isTuple()) items = v.toTupleRef().elements().vec();
    if (items.size() != 3) fail("'" + key + "' is not a list of 3 numbers");
    std::array<double, 3> out{};
    for (size_t i = 0; i < 3; ++i) {
      if (!items[i].isDouble() && !items[i].isInt()) fail("'" + key + "' is not a list of 3 numbers");
      out[i] = items[i].isDouble() ? items[i].toDouble() : static_cast<double>(items[i].toInt());
    }
    return out;
  }
  DictReader child(const std::string& key) const { return DictReader(get(key), path_, where_ + "['" + key + "']"); }
  const c10::impl::GenericDict& dict() const { return dict_; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error(path_ + ": checkpoint" + where_ + " " + problem);
  }

 private:
  std::string path_, where_;
  c10::impl::GenericDict dict_{c10::AnyType::get(), c10::AnyType::get()};
};

IValue string_keyed_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

IValue triple_to_ivalue(const std::array<double, 3>& values) {
  c10::List<double> list;
  for (double v : values) list.push_back(v);
  return list;
}

constexpr int64_t kMaxEvalResize = 4096;

const char* const kKnownKeys[] = {"model_state_dict", "model", "class_names", "normalization", "epoch", "config"};

}  // namespace

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  auto root = string_keyed_dict().toGenericDict();
  root.insert("model_state_dict", state_dict_to_ivalue(checkpoint.model_state_dict));
  auto model = string_keyed_dict().toGenericDict();
  model.insert("type", checkpoint.model.type);
  model.insert("architecture", checkpoint.model.architecture);
  model.insert("num_classes", checkpoint.model.num_classes);
  model.insert("input_size", checkpoint.model.input_size);
  if (checkpoint.model.eval_resize) model.insert("eval_resize", *checkpoint.model.eval_resize);
  root.insert("model", model);
  c10::List<std::string> names;
  for (const auto& name : checkpoint.class_names) names.push_back(name);
  root.insert("class_names", names);
  auto normalization = string_keyed_dict().toGenericDict();
  normalization.insert("mean", triple_to_ivalue(checkpoint.normalization.mean));
  normalization.insert("std", triple_to_ivalue(checkpoint.normalization.std));
  root.insert("normalization", normalization);
  root.insert("epoch", checkpoint.epoch);
  root.insert("config", checkpoint.config);
  for (const auto& [key, value] : checkpoint.extras) root.insert(key, value);
  const std::vector<char> bytes = torch::pickle_save(root);
  write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

Checkpoint load_checkpoint(const std::string& path) {
  const DictReader root(read_torch_file(path), path, "");
  Checkpoint out;
  out.model_state_dict = state_dict_from_ivalue(root.get("model_state_dict"), path + ": model_state_dict");
  const DictReader model = root.child("model");
  out.model.type = model.string("type");
  out.model.architecture = model.string("architecture");
  out.model.num_classes = model.integer("num_classes");
  out.model.input_size = model.has("input_size") ? model.integer("input_size") : 224;
  if (model.has("eval_resize")) {
    out.model.eval_resize = model.integer("eval_resize");
    // The centre crop needs at least input_size; beyond kMaxEvalResize it is a corrupt value, not a
    // choice (the configuration allows no more).
    if (*out.model.eval_resize < out.model.input_size || *out.model.eval_resize > kMaxEvalResize)
      model.fail("'eval_resize' is " + std::to_string(*out.model.eval_resize) + "; it must lie between input_size (" +
                 std::to_string(out.model.input_size) + ") and " + std::to_string(kMaxEvalResize));
  }
  const IValue& names = root.get("class_names");
  if (!names.isList()) root.fail("'class_names' is not a list of strings");
  for (const auto& name : names.toListRef()) {
    if (!name.isString()) root.fail("'class_names' is not a list of strings");
    out.class_names.push_back(name.toStringRef());
  }
  if (static_cast<int64_t>(out.class_names.size()) != out.model.num_classes)
    root.fail("lists " + std::to_string(out.class_names.size()) + " class names but model.num_classes is " +
              std::to_string(out.model.num_classes));
  const DictReader normalization = root.child("normalization");
  out.normalization.mean = normalization.triple("mean");
  out.normalization.std = normalization.triple("std");
  out.epoch = root.has("epoch") ? root.integer("epoch") : 0;
  out.config = root.has("config") ? root.string("config") : "";
  for (const auto& entry : root.dict()) {
    if (!entry.key().isString()) continue;
    const std::string& key = entry.key().toStringRef();
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys))
      out.extras.emplace(key, entry.value());
  }
  return out;
}

StateDict load_weights_file(const std::string& path) {
  const IValue value = read_torch_file(path);
  if (value.isGenericDict()) {
    const auto dict = value.toGenericDict();
    for (const char* key : {"model_state_dict", "state_dict"}) {
      auto it = dict.find(std::string(key));
      if (it != dict.end()) return state_dict_from_ivalue(it->value(), path + ": " + key);
    }
  }
  return state_dict_from_ivalue(value, path);
}

std::string torchvision_weights_dir() {
  namespace fs = std::filesystem;
  fs::path torch_home;
  if (const char* env = std::getenv("TORCH_HOME"); env && *env) {
    torch_home = env;
  } else {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    fs::path cache = (xdg && *xdg) ? fs::path(xdg) : fs::path(home ? home : ".") / ".cache";
    torch_home = cache / "torch";
  }
  return (torch_home / "hub" / "checkpoints").string();
}

StateDict load_torchvision_weights(const std::string& architecture, const std::string& file_name) {
  const std::string path = (std::filesystem::path(torchvision_weights_dir()) / file_name).string();
  if (!std::filesystem::exists(path))
    throw std::runtime_error("pretrained weights for " + architecture + " not found at " + path +
                             ". Copy torchvision's file " + file_name +
                             " there (Python torchvision stores it there when it downloads it, from "
                             "https://download.pytorch.org/models/" + file_name +
                             "), set TORCH_HOME to the folder holding hub/checkpoints, or set model.weights to a file path");
  return load_weights_file(path);
}

}  // namespace mltk::checkpoint
