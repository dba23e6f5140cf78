#include "mltk/config/config_writer.h"

#include "mltk/config/schema.h"

#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace mltk::config {
namespace {

// Values line up in one column of comments as long as keys are shorter than this.
constexpr size_t kCommentColumn = 44;

// A section or a key, children in the order the schema first names them.
struct Entry {
  std::string name;
  const KeyRule* rule = nullptr;
  std::vector<std::unique_ptr<Entry>> children;

  Entry& child(const std::string& child_name) {
    for (auto& existing : children)
      if (existing->name == child_name) return *existing;
    children.push_back(std::make_unique<Entry>());
    children.back()->name = child_name;
    return *children.back();
  }
};

std::string flow_yaml(const YAML::Node& value) {
  YAML::Emitter out;
  out << YAML::Flow << value;
  return out.c_str();
}

void write_entries(const Entry& section, int depth, const std::map<std::string, YAML::Node>& values,
                   std::ostringstream& out) {
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  for (const auto& entry : section.children) {
    if (!entry->rule) {
      out << indent << entry->name << ":\n";
      write_entries(*entry, depth + 1, values, out);
      if (depth == 0 && entry != section.children.back()) out << "\n";
      continue;
    }
    const auto given = values.find(entry->rule->path);
    std::string line = indent + entry->name + ": " +
                       flow_yaml(given != values.end() ? given->second : YAML::Load(entry->rule->default_yaml));
    line.resize(std::max(line.size() + 1, kCommentColumn), ' ');
    out << line << "# " << entry->rule->help << "\n";
  }
}

}  // namespace

std::string commented_configuration(const std::map<std::string, YAML::Node>& values) {
  for (const auto& [path, value] : values)
    if (!find_rule(path)) throw std::invalid_argument("commented_configuration: unknown key '" + path + "'");
  Entry root;
  for (const auto& rule : schema()) {
    Entry* entry = &root;
    std::stringstream parts(rule.path);
    for (std::string part; std::getline(parts, part, '.');) entry = &entry->child(part);
    entry->rule = &rule;
  }
  std::ostringstream out;
  write_entries(root, 0, values, out);
  return out.str();
}

}  // namespace mltk::config
