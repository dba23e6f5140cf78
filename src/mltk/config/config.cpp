#include "mltk/config/config.h"

#include "mltk/config/schema.h"

#include <cmath>
#include <fstream>
#include <sstream>

namespace mltk::config {
namespace {

std::string location(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return source;
  return source + ":" + std::to_string(mark.line + 1);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(const std::string& path) {
  std::string best;
  size_t best_distance = 4;  // only suggest near misses
  for (const auto& rule : schema()) {
    const size_t d = edit_distance(path, rule.path);
    if (d < best_distance) best_distance = d, best = rule.path;
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool parse_number(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) return false;
  try {
    out = node.as<double>();
    return std::isfinite(out);
  } catch (const YAML::Exception&) {
    return false;
  }
}

void check_bounds(double value, const KeyRule& rule, const std::string& where) {
  const bool below = rule.min && (rule.min_exclusive ? value <= *rule.min : value < *rule.min);
  const bool above = rule.max && value > *rule.max;
  if (!below && !above) return;
  std::ostringstream range;
  range << (rule.min ? (rule.min_exclusive ? "greater than " : "at least ") : "");
  if (rule.min) range << *rule.min;
  if (rule.min && rule.max) range << " and ";
  if (rule.max) range << "at most " << *rule.max;
  std::ostringstream message;
  message << where << ": " << rule.path << " = " << value << " is out of range (must be " << range.str() << ")";
  throw ConfigError(message.str());
}

void check_value(const YAML::Node& node, const KeyRule& rule, const std::string& where) {
  const std::string prefix = where + ": " + rule.path;
  if (node.IsNull()) {
    if (!rule.nullable) throw ConfigError(prefix + " must not be null (expected " + kind_name(rule.kind) + ")");
    return;
  }
  const auto type_error = [&] {
    return ConfigError(prefix + " must be " + kind_name(rule.kind) + ", got '" +
                       (node.IsScalar() ? node.Scalar() : std::string(node.IsSequence() ? "a list" : "a mapping")) + "'");
  };
  switch (rule.kind) {
    case ValueKind::integer: {
      double value;
      if (!parse_number(node, value) || value != std::floor(value)) throw type_error();
      check_bounds(value, rule, where);
      return;
    }
    case ValueKind::number: {
      double value;
      if (!parse_number(node, value)) throw type_error();
      check_bounds(value, rule, where);
      return;
    }
    case ValueKind::boolean: {
      bool value;
      if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) throw type_error();
      return;
    }
    case ValueKind::string:
      if (!node.IsScalar()) throw type_error();
      if (!rule.choices.empty() &&
          std::find(rule.choices.begin(), rule.choices.end(), node.Scalar()) == rule.choices.end())
        throw ConfigError(prefix + " = '" + node.Scalar() + "' is not one of: " + join(rule.choices));
      return;
    case ValueKind::number_list: {
      if (!node.IsSequence() || node.size() != rule.list_length)
        throw ConfigError(prefix + " must be a list of " + std::to_string(rule.list_length) + " numbers");
      for (const auto& item : node) {
        double value;
        if (!parse_number(item, value)) throw ConfigError(prefix + " must be a list of numbers");
        check_bounds(value, rule, where);
      }
      return;
    }
  }
}

// Walks the user's tree: every key must be a section or a known key with a valid value.
void validate(const YAML::Node& node, const std::string& path, const std::string& source) {
  if (!node.IsMap()) {
    throw ConfigError(location(source, node) + ": " + (path.empty() ? "the configuration" : path) +
                      " must be a mapping of keys");
  }
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string child = path.empty() ? key : path + "." + key;
    if (const KeyRule* rule = find_rule(child)) {
      check_value(entry.second, *rule, location(source, entry.second));
    } else if (is_section(child)) {
      if (!entry.second.IsNull()) validate(entry.second, child, source);
    } else {
      throw ConfigError(location(source, entry.first) + ": unknown key '" + child + "'" + suggestion(child));
    }
  }
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  return parts;
}

// yaml-cpp's operator[] on nested non-const nodes creates the path; assigning a fresh node keeps
// each sub-tree independent of the source it was copied from.
void set_path(YAML::Node& root, const std::string& path, const YAML::Node& value) {
  std::vector<YAML::Node> chain{root};
  const auto parts = split_path(path);
  for (size_t i = 0; i + 1 < parts.size(); ++i) chain.push_back(chain.back()[parts[i]]);
  chain.back()[parts.back()] = YAML::Clone(value);
}

YAML::Node get_path(const YAML::Node& root, const std::string& path) {
  YAML::Node node = YAML::Clone(root);
  for (const auto& part : split_path(path)) node = node[part];
  return node;
}

void overlay(YAML::Node& target, const YAML::Node& source, const std::string& path) {
  for (const auto& entry : source) {
    const std::string child = (path.empty() ? "" : path + ".") + entry.first.as<std::string>();
    if (find_rule(child)) set_path(target, child, entry.second);
    else if (entry.second.IsMap()) overlay(target, entry.second, child);
  }
}

template <typename T>
std::optional<T> optional_value(const YAML::Node& node) {
  if (!node || node.IsNull()) return std::nullopt;
  return node.as<T>();
}

template <size_t N>
std::array<double, N> number_array(const YAML::Node& node) {
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = node[i].as<double>();
  return out;
}

Config resolve(const YAML::Node& user, const std::string& source, const std::vector<Override>& overrides) {
  YAML::Node tree(YAML::NodeType::Map);
  for (const auto& rule : schema()) set_path(tree, rule.path, YAML::Load(rule.default_yaml));
  if (user && !user.IsNull()) {
    validate(user, "", source);
    overlay(tree, user, "");
  }
  for (const auto& [key, text] : overrides) {
    const KeyRule* rule = find_rule(key);
    if (!rule) throw ConfigError("command line: unknown configuration key '" + key + "'" + suggestion(key));
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw ConfigError("command line: " + key + ": cannot parse '" + text + "'");
    }
    check_value(value, *rule, "command line");
    set_path(tree, key, value);
  }

  Config c;
  c.source = source;
  c.tree = tree;
  const auto at = [&](const std::string& path) { return get_path(tree, path); };
  c.data.dataset_name = optional_value<std::string>(at("data.dataset_name"));
  c.data.data_dir = at("data.data_dir").as<std::string>();
  c.data.fold = at("data.fold").as<int>();
  c.data.num_folds = at("data.num_folds").as<int>();
  c.data.test_ratio = at("data.test_ratio").as<double>();
  c.data.num_workers = at("data.num_workers").as<int>();
  c.model.type = at("model.type").as<std::string>();
  c.model.architecture = optional_value<std::string>(at("model.architecture"));
  c.model.custom_architecture = optional_value<std::string>(at("model.custom_architecture"));
  c.model.num_classes = optional_value<int>(at("model.num_classes"));
  c.model.input_size = at("model.input_size").as<int>();
  c.model.weights = optional_value<std::string>(at("model.weights"));
  c.model.dropout = optional_value<double>(at("model.dropout"));
  c.model.freeze_backbone = at("model.freeze_backbone").as<bool>();
  c.training.num_epochs = at("training.num_epochs").as<int>();
  c.training.batch_size = at("training.batch_size").as<int>();
  c.training.seed = at("training.seed").as<int>();
  c.training.device = at("training.device").as<std::string>();
  c.training.threads = at("training.threads").as<int>();
  c.training.label_smoothing = at("training.label_smoothing").as<double>();
  c.training.early_stopping_patience = at("training.early_stopping.patience").as<int>();
  c.training.early_stopping_monitor = at("training.early_stopping.monitor").as<std::string>();
  c.optimizer.name = at("optimizer.name").as<std::string>();
  c.optimizer.lr = at("optimizer.lr").as<double>();
  c.optimizer.momentum = at("optimizer.momentum").as<double>();
  c.optimizer.nesterov = at("optimizer.nesterov").as<bool>();
  c.optimizer.weight_decay = at("optimizer.weight_decay").as<double>();
  c.scheduler.name = at("scheduler.name").as<std::string>();
  c.scheduler.step_size = at("scheduler.step_size").as<int>();
  c.scheduler.gamma = at("scheduler.gamma").as<double>();
  c.scheduler.t_max = optional_value<int>(at("scheduler.t_max"));
  c.scheduler.min_lr = at("scheduler.min_lr").as<double>();
  c.scheduler.patience = at("scheduler.patience").as<int>();
  c.scheduler.factor = at("scheduler.factor").as<double>();
  c.transforms.crop_scale = number_array<2>(at("transforms.train.random_resized_crop.scale"));
  c.transforms.crop_ratio = number_array<2>(at("transforms.train.random_resized_crop.ratio"));
  c.transforms.horizontal_flip = at("transforms.train.horizontal_flip").as<double>();
  c.transforms.brightness = at("transforms.train.color_jitter.brightness").as<double>();
  c.transforms.contrast = at("transforms.train.color_jitter.contrast").as<double>();
  c.transforms.saturation = at("transforms.train.color_jitter.saturation").as<double>();
  c.transforms.hue = at("transforms.train.color_jitter.hue").as<double>();
  c.transforms.eval_resize = optional_value<int>(at("transforms.eval.resize"));
  c.transforms.mean = number_array<3>(at("transforms.normalize.mean"));
  c.transforms.std = number_array<3>(at("transforms.normalize.std"));

  if (c.transforms.crop_scale[0] > c.transforms.crop_scale[1] || c.transforms.crop_ratio[0] > c.transforms.crop_ratio[1])
    throw ConfigError(source + ": transforms.train.random_resized_crop ranges must be [low, high]");
  if (!(c.model.type == "custom" ? c.model.custom_architecture : c.model.architecture))
    throw ConfigError(source + ": " + c.model.architecture_key() + " must be set when model.type is " + c.model.type);
  return c;
}

}  // namespace

std::string Config::Model::zoo_name() const {
  return (type == "custom" ? custom_architecture : architecture).value_or("");
}

std::string Config::Model::architecture_key() const {
  return type == "custom" ? "model.custom_architecture" : "model.architecture";
}

int default_eval_resize(int input_size) { return static_cast<int>(std::lround(input_size * 8.0 / 7.0)); }

int Config::resolved_eval_resize() const { return transforms.eval_resize.value_or(default_eval_resize(model.input_size)); }

std::string Config::to_yaml() const {
  YAML::Emitter out;
  out << tree;
  return std::string(out.c_str()) + "\n";
}

Config default_config(const std::vector<Override>& overrides) { return resolve(YAML::Node(), "defaults", overrides); }

Config parse_config(const std::string& yaml_text, const std::string& source, const std::vector<Override>& overrides) {
  YAML::Node user;
  try {
    user = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  return resolve(user, source, overrides);
}

Config load_config(const std::string& path, const std::vector<Override>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, overrides);
}

}  // namespace mltk::config
