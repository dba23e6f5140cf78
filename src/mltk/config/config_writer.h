#pragma once
// A complete configuration file written from the schema: every key in schema order, nested in its
// sections, with its default (or a given value) and its help text as a comment.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

namespace mltk::config {

// `values` replaces the defaults of some keys (dotted paths); throws std::invalid_argument for a
// path the schema does not know.
std::string commented_configuration(const std::map<std::string, YAML::Node>& values = {});

}  // namespace mltk::config
