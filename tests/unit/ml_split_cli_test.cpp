// ml-split and ml-init-config as a user runs them: exit codes, files written, messages.
#include "mltk/common/subprocess.h"
#include "mltk/config/config.h"
#include "mltk/config/schema.h"
#include "support/data_fixtures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

namespace {

using mltk::ProcessResult;
using mltk::TempDir;
namespace fs = std::filesystem;

ProcessResult run_tool(const std::string& tool, std::vector<std::string> args) {
  args.insert(args.begin(), std::string(MLTK_BINARY_DIR) + "/bin/" + tool);
  return mltk::run_process(args);
}

TEST(MlSplitCli, WritesFoldsAndTestNextToRawByDefault) {
  TempDir dir;
  mltk::testkit::write_class_folders(dir.file("data/toy/raw"), {{"x", 8}, {"y", 9}});
  const auto result = run_tool("ml-split", {"--raw_data", dir.file("data/toy/raw/"), "--folds", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(fs::exists(dir.file("data/toy/splits/fold_" + std::to_string(k) + "_train.txt")));
    EXPECT_TRUE(fs::exists(dir.file("data/toy/splits/fold_" + std::to_string(k) + "_val.txt")));
  }
  EXPECT_TRUE(fs::exists(dir.file("data/toy/splits/test.txt")));
  EXPECT_FALSE(fs::exists(dir.file("data/toy/splits/fold_3_train.txt")));
  EXPECT_NE(result.err.find("SUCCESS"), std::string::npos) << result.err;
}

TEST(MlSplitCli, ExitCodes) {
  TempDir dir;
  mltk::testkit::write_class_folders(dir.file("raw"), {{"x", 8}, {"y", 9}});
  EXPECT_EQ(run_tool("ml-split", {"--help"}).exit_code, 0);
  EXPECT_EQ(run_tool("ml-split", {}).exit_code, 2);                                             // --raw_data missing
  EXPECT_EQ(run_tool("ml-split", {"--raw_data", dir.file("raw"), "--folds", "1"}).exit_code, 2);  // out of range
  EXPECT_EQ(run_tool("ml-split", {"--raw_data", dir.file("nope")}).exit_code, 2);
  // Valid flags, impossible request: the plain layout has no val/ to keep.
  const auto kept = run_tool("ml-split", {"--raw_data", dir.file("raw"), "--keep_given_split"});
  EXPECT_EQ(kept.exit_code, 1);
  EXPECT_NE(kept.err.find("keep_given_split"), std::string::npos) << kept.err;
}

TEST(MlSplitCli, HelpExplainsBothLayouts) {
  const auto help = run_tool("ml-split", {"--help"});
  EXPECT_NE(help.out.find("raw/train/<class>"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("by default pooled"), std::string::npos) << help.out;
}

TEST(MlInitConfig, WritesALoadableCommentedConfigAndRefusesToOverwrite) {
  TempDir dir;
  mltk::testkit::write_class_folders(dir.file("data/flowers/raw"), {{"daisy", 3}, {"rose", 5}, {"tulip", 2}});
  const std::string output = dir.file("configs/flowers.yaml");
  const auto result = run_tool("ml-init-config", {dir.file("data/flowers"), "--output", output, "--architecture", "resnet34"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto config = mltk::config::load_config(output);
  EXPECT_EQ(config.data.dataset_name.value_or(""), "flowers");
  EXPECT_EQ(config.data.data_dir, dir.file("data"));
  EXPECT_EQ(config.model.num_classes.value_or(0), 3);
  EXPECT_EQ(config.model.architecture.value_or(""), "resnet34");
  const std::string text = mltk::read_file(output);
  EXPECT_NE(text.find("#   rose"), std::string::npos) << text;
  EXPECT_NE(text.find("5 images"), std::string::npos) << text;
  // Every schema key is written out with its help text; those not about the dataset hold their
  // schema default.
  const YAML::Node written = YAML::Load(text);
  const std::set<std::string> dataset_keys = {"data.dataset_name", "data.data_dir", "model.num_classes", "model.architecture"};
  for (const auto& rule : mltk::config::schema()) {
    YAML::Node node = YAML::Clone(written);
    std::stringstream parts(rule.path);
    for (std::string part; std::getline(parts, part, '.');) node.reset(node[part]);
    ASSERT_TRUE(node.IsDefined()) << rule.path << " missing from\n" << text;
    EXPECT_NE(text.find("# " + rule.help), std::string::npos) << rule.path;
    if (dataset_keys.count(rule.path)) continue;
    YAML::Emitter value, default_value;
    value << YAML::Flow << node;
    default_value << YAML::Flow << YAML::Load(rule.default_yaml);
    EXPECT_EQ(std::string(value.c_str()), default_value.c_str()) << rule.path;
  }

  const auto again = run_tool("ml-init-config", {dir.file("data/flowers"), "--output", output});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(run_tool("ml-init-config", {dir.file("data/flowers"), "--output", output, "--force"}).exit_code, 0);
}

}  // namespace
