// docs/configuration.md lists every configuration key with its type, default and meaning; the
// schema (src/mltk/config/schema.cpp) is the source, and this test keeps the page in step with it.
#include "mltk/common/subprocess.h"
#include "mltk/config/schema.h"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace mltk;

std::string type_column(config::ValueKind kind) {
  switch (kind) {
    case config::ValueKind::integer: return "int";
    case config::ValueKind::number: return "float";
    case config::ValueKind::string: return "string";
    case config::ValueKind::boolean: return "bool";
    case config::ValueKind::number_list: return "list of floats";
  }
  return "?";
}

std::string table_from_schema() {
  std::string table = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& rule : config::schema())
    table += "| `" + rule.path + "` | " + type_column(rule.kind) + " | `" + rule.default_yaml + "` | " + rule.help + " |\n";
  return table;
}

// The Markdown table starting at its header line, up to the first line that is not a table row.
std::string table_in(const std::string& page, const std::string& header) {
  std::istringstream lines(page);
  std::string table;
  bool inside = false;
  for (std::string line; std::getline(lines, line);) {
    if (line == header) inside = true;
    if (!inside) continue;
    if (line.empty() || line[0] != '|') break;
    table += line + "\n";
  }
  return table;
}

TEST(ConfigurationDocs, KeyTableMatchesTheSchema) {
  const std::string page = read_file(std::string(MLTK_SOURCE_DIR) + "/docs/configuration.md");
  const std::string expected = table_from_schema();
  EXPECT_EQ(table_in(page, "| key | type | default | meaning |"), expected)
      << "docs/configuration.md's key table differs from the schema; replace it with:\n" << expected;
}

TEST(ConfigurationDocs, TableReaderFindsOnlyTheTable) {
  const std::string page = "# Keys\n\n| key | type | default | meaning |\n|---|---|---|---|\n| `a` | int | `1` | x |\n\nAfter.\n| other |\n";
  EXPECT_EQ(table_in(page, "| key | type | default | meaning |"),
            "| key | type | default | meaning |\n|---|---|---|---|\n| `a` | int | `1` | x |\n");
  EXPECT_EQ(table_in("no table here\n", "| key | type | default | meaning |"), "");
}

}  // namespace
