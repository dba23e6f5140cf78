// ml-train's command line as a user runs it: the binary, its output and its exit status.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace {

using mltk::ProcessResult;
using mltk::TempDir;

ProcessResult ml_train(std::vector<std::string> args) {
  args.insert(args.begin(), std::string(MLTK_BINARY_DIR) + "/bin/ml-train");
  return mltk::run_process(args);
}

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

TEST(MlTrainCli, ListModelsPrintsEveryArchitectureOncePerLine) {
  const auto result = ml_train({"--list_models"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines;
  std::istringstream out(result.out);
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  const std::vector<std::string> expected = {
      "resnet18",        "resnet34",        "resnet50",           "resnet101",          "resnet152",
      "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",    "efficientnet_b3",    "mobilenet_v2",
      "mobilenet_v3_small", "mobilenet_v3_large", "vgg11",        "vgg13",              "vgg16",
      "vgg19",           "densenet121",     "densenet161",        "densenet169",        "densenet201",
      "vit_b_16",        "vit_b_32",        "vit_l_16",           "convnext_tiny",      "convnext_small",
      "convnext_base",   "simple_cnn",      "tiny_net"};
  EXPECT_EQ(lines, expected);
}

TEST(MlTrainCli, DryRunPrintsSummaryInTheLogFormatAndWritesTheLogFile) {
  TempDir dir;
  const auto config = write_file(dir, "tiny.yaml",
                                 "data:\n  dataset_name: toy\nmodel:\n  type: custom\n  custom_architecture: tiny_net\n"
                                 "  num_classes: 3\n  input_size: 32\n");
  const auto result = ml_train({"--config", config, "--dry_run", "--log_file", dir.file("logs/train.log")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::regex info_line(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO     \| Architecture:  tiny_net)");
  EXPECT_TRUE(std::regex_search(result.err, info_line)) << result.err;
  const std::regex success_line(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| SUCCESS  \| ✓ Dry run complete)");
  EXPECT_TRUE(std::regex_search(result.err, success_line)) << result.err;
  // tiny_net at 32x32 with 3 classes: conv 3*16*25+16, conv 16*32*25+32, fc 32*8*8*3+3.
  const int64_t parameters = (3 * 16 * 25 + 16) + (16 * 32 * 25 + 32) + (32 * 8 * 8 * 3 + 3);
  EXPECT_NE(result.err.find("Parameters:    " + std::to_string(parameters)), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Classes:       3"), std::string::npos) << result.err;
  EXPECT_NE(mltk::read_file(dir.file("logs/train.log")).find("Architecture:  tiny_net"), std::string::npos);
}

TEST(MlTrainCli, DryRunLoadsWeightsFileAndKeepsANewHeadForOtherClassCounts) {
  TempDir dir;
  auto source = mltk::models::create_model({"tiny_net", 5, 32});
  mltk::checkpoint::Checkpoint checkpoint;
  checkpoint.model_state_dict = mltk::checkpoint::state_dict_of(*source);
  checkpoint.model = {"custom", "tiny_net", 5, 32};
  checkpoint.class_names = {"a", "b", "c", "d", "e"};
  mltk::checkpoint::save_checkpoint(checkpoint, dir.file("five.pt"));
  const auto config = write_file(dir, "c.yaml",
                                 "model:\n  type: custom\n  custom_architecture: tiny_net\n  num_classes: 2\n"
                                 "  input_size: 32\n  weights: " + dir.file("five.pt") + "\n");
  const auto result = ml_train({"--config", config, "--dry_run"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("Weights:       " + dir.file("five.pt")), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("new classifier tensor (not from weights): fc.weight"), std::string::npos) << result.err;

  // Weights of another architecture are refused, naming the file.
  const auto other = write_file(dir, "other.yaml",
                                "model:\n  type: custom\n  custom_architecture: simple_cnn\n  num_classes: 2\n"
                                "  input_size: 32\n  weights: " + dir.file("five.pt") + "\n");
  const auto refused = ml_train({"--config", other, "--dry_run"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("five.pt: weights do not fit the model"), std::string::npos) << refused.err;
}

TEST(MlTrainCli, DefaultWeightsMissingFromTheCacheNameTheFile) {
  TempDir dir;
  const auto config = write_file(dir, "c.yaml", "model:\n  architecture: resnet18\n  num_classes: 2\n  weights: DEFAULT\n");
  setenv("TORCH_HOME", dir.path().c_str(), 1);
  const auto result = ml_train({"--config", config, "--dry_run"});
  unsetenv("TORCH_HOME");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(dir.file("hub/checkpoints/resnet18-f37072fd.pth")), std::string::npos) << result.err;
}

TEST(MlTrainCli, BadConfigurationIsAnErrorNamingFileLineAndKey) {
  TempDir dir;
  const auto config = write_file(dir, "bad.yaml", "model:\n  num_classes: 2\noptimizer:\n  lr: -1\n");
  const auto result = ml_train({"--config", config, "--dry_run"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("bad.yaml:4: optimizer.lr"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("| ERROR    |"), std::string::npos) << result.err;
}

TEST(MlTrainCli, FlagsOverrideTheConfiguration) {
  TempDir dir;
  const auto config = write_file(dir, "c.yaml", "model:\n  type: custom\n  custom_architecture: tiny_net\n  num_classes: 2\n");
  const auto result = ml_train({"--config", config, "--dry_run", "--lr", "-3"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("command line: optimizer.lr"), std::string::npos) << result.err;
}

TEST(MlTrainCli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(ml_train({"--no_such_flag"}).exit_code, 2);
  EXPECT_EQ(ml_train({"--config", "/nonexistent/config.yaml"}).exit_code, 2);
  const auto help = ml_train({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--dry_run"), std::string::npos);
}

}  // namespace
