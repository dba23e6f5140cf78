// The folders of src/mltk form layers: a file includes only headers of its own folder or of a lower
// layer. This keeps the library free of include cycles and keeps models independent of files and
// YAML. The graph is read from the `#include "mltk/<folder>/..."` lines of the sources.
#include "mltk/common/subprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// folder -> folders its files include (own folder left out).
using FolderGraph = std::map<std::string, std::set<std::string>>;

// Lower numbers are lower layers; folders of one layer must not include each other.
const std::map<std::string, int>& layer_of_folder() {
  static const std::map<std::string, int> layers = {
      {"common", 0},
      {"models", 1}, {"data", 1}, {"checkpoint", 1}, {"config", 1}, {"distributed", 1},
      {"pipeline", 2}, {"runtime", 2},
      {"onnx_export", 3}, {"validate", 3}, {"benchmark", 3},
      {"train", 4}, {"inference", 4},
      {"report", 5},
      {"cli", 6},
  };
  return layers;
}

FolderGraph folder_include_graph(const fs::path& root) {
  static const std::regex include_line(R"(^\s*#\s*include\s*"mltk/([^/"]+)/)");
  FolderGraph graph;
  for (const auto& folder : fs::directory_iterator(root)) {
    if (!folder.is_directory()) continue;
    const std::string name = folder.path().filename().string();
    auto& targets = graph[name];
    for (const auto& file : fs::recursive_directory_iterator(folder.path())) {
      const auto extension = file.path().extension();
      if (!file.is_regular_file() || (extension != ".h" && extension != ".cpp")) continue;
      std::ifstream in(file.path());
      std::smatch match;
      for (std::string line; std::getline(in, line);)
        if (std::regex_search(line, match, include_line) && match[1] != name) targets.insert(match[1]);
    }
  }
  return graph;
}

// One cycle as "a -> b -> a", or "" when there is none.
std::string find_cycle(const FolderGraph& graph) {
  enum class Mark { unvisited, on_path, done };
  std::map<std::string, Mark> marks;
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& folder) {
    marks[folder] = Mark::on_path;
    path.push_back(folder);
    const auto edges = graph.find(folder);
    if (edges != graph.end()) {
      for (const auto& target : edges->second) {
        if (marks[target] == Mark::on_path) {
          for (auto it = std::find(path.begin(), path.end(), target); it != path.end(); ++it) cycle += *it + " -> ";
          cycle += target;
          return true;
        }
        if (marks[target] == Mark::unvisited && visit(target)) return true;
      }
    }
    path.pop_back();
    marks[folder] = Mark::done;
    return false;
  };
  for (const auto& [folder, edges] : graph)
    if (marks[folder] == Mark::unvisited && visit(folder)) return cycle;
  return "";
}

// "a -> b" for every edge not going to a strictly lower layer, and for folders without a layer.
std::vector<std::string> layering_violations(const FolderGraph& graph) {
  const auto& layers = layer_of_folder();
  std::vector<std::string> out;
  for (const auto& [folder, targets] : graph) {
    const auto own = layers.find(folder);
    if (own == layers.end()) {
      out.push_back(folder + " has no layer in include_layering_test.cpp");
      continue;
    }
    for (const auto& target : targets) {
      const auto other = layers.find(target);
      if (other == layers.end() || other->second >= own->second) out.push_back(folder + " -> " + target);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// The library's sources; MLTK_LAYERING_ROOT checks another tree (another checkout's src/mltk).
fs::path library_root() {
  if (const char* root = std::getenv("MLTK_LAYERING_ROOT"); root && *root) return root;
  return fs::path(MLTK_SOURCE_DIR) / "src" / "mltk";
}

TEST(IncludeLayering, LibraryFoldersIncludeNoCycle) {
  const auto graph = folder_include_graph(library_root());
  ASSERT_GE(graph.size(), layer_of_folder().size()) << "no sources found under " << library_root();
  const std::string cycle = find_cycle(graph);
  EXPECT_EQ(cycle, "") << "folders include each other in a cycle: " << cycle;
}

TEST(IncludeLayering, ModelsKnowNeitherCheckpointsNorConfiguration) {
  auto graph = folder_include_graph(library_root());
  for (const char* folder : {"checkpoint", "config"}) EXPECT_EQ(graph["models"].count(folder), 0u) << "models -> " << folder;
  EXPECT_EQ(graph["data"].count("config"), 0u) << "data -> config";
}

TEST(IncludeLayering, EveryIncludeGoesToALowerLayer) {
  const auto violations = layering_violations(folder_include_graph(library_root()));
  EXPECT_TRUE(violations.empty()) << "includes that break the layering (see the layer table in README.md):\n" << joined(violations);
}

// The checks themselves find what they look for: a generated tree where models and checkpoint
// include each other.
TEST(IncludeLayering, ChecksReportACycleAndAnUpwardInclude) {
  mltk::TempDir dir;
  const fs::path root = dir.path();
  fs::create_directories(root / "models");
  fs::create_directories(root / "checkpoint");
  fs::create_directories(root / "common");
  std::ofstream(root / "models" / "zoo.cpp") << "#include \"mltk/models/zoo.h\"\n#include \"mltk/checkpoint/checkpoint.h\"\n";
  std::ofstream(root / "checkpoint" / "checkpoint.cpp") << "  #  include \"mltk/models/zoo.h\"\n#include <vector>\n";
  std::ofstream(root / "common" / "logging.h") << "// #include \"mltk/models/zoo.h\" is a comment\n";
  const auto graph = folder_include_graph(root);

  EXPECT_EQ(graph.at("models"), (std::set<std::string>{"checkpoint"}));
  EXPECT_EQ(graph.at("checkpoint"), (std::set<std::string>{"models"}));
  EXPECT_TRUE(graph.at("common").empty());
  EXPECT_EQ(find_cycle(graph), "checkpoint -> models -> checkpoint");
  EXPECT_EQ(layering_violations(graph), (std::vector<std::string>{"checkpoint -> models", "models -> checkpoint"}));
  EXPECT_EQ(find_cycle({{"train", {"pipeline"}}, {"pipeline", {"models"}}, {"models", {}}}), "");
}

}  // namespace
