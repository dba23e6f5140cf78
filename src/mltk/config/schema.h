#pragma once
// The configuration schema: every key the pipeline reads, its type, default and allowed values.
// Validation and `docs/configuration.md` both come from this one table.
#include <optional>
#include <string>
#include <vector>

namespace mltk::config {

enum class ValueKind { integer, number, string, boolean, number_list };

struct KeyRule {
  std::string path;          // dotted, e.g. "training.batch_size"
  ValueKind kind;
  std::string default_yaml;  // YAML text of the default ("null" for none)
  std::string help;
  bool nullable = false;
  std::optional<double> min{}, max{};   // inclusive bounds for numbers, integers and list items
  bool min_exclusive = false;
  std::vector<std::string> choices{};   // allowed strings
  size_t list_length = 0;               // number_list: exact length
};

const std::vector<KeyRule>& schema();
const KeyRule* find_rule(const std::string& path);
// True when `path` names a section (a prefix of some key), e.g. "transforms.train".
bool is_section(const std::string& path);
std::string kind_name(ValueKind kind);

}  // namespace mltk::config
