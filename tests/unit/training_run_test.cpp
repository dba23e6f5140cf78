// ml-train as users run it, on a generated dataset: it learns, writes the documented run folder,
// resumes exactly, and refuses bad input with clear messages.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/data/split_index.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

namespace {

using namespace mltk;
namespace fs = std::filesystem;
using testkit::run_tool;

constexpr int kSide = 32;

// One generated dataset and one trained run, shared by the tests that only inspect it.
class TrainingRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("mltk-train");
    testkit::write_shapes_dataset(data_dir(), "shapes", 60, kSide, 4);
    write_config("shapes.yaml", testkit::shapes_config(data_dir(), "shapes", kSide));
    trained_ = new ProcessResult(train({"--config", config("shapes.yaml")}));
  }
  static void TearDownTestSuite() {
    delete trained_;
    delete dir_;
  }

  static std::string data_dir() { return dir_->file("data"); }
  static std::string runs_dir() { return dir_->file("runs"); }
  static std::string config(const std::string& name) { return dir_->file(name); }
  static void write_config(const std::string& name, const std::string& text) { std::ofstream(dir_->file(name)) << text; }
  static std::string run_folder() { return runs_dir() + "/shapes_custom_fold_0"; }
  static ProcessResult train(std::vector<std::string> args, const std::string& runs = runs_dir()) {
    args.insert(args.end(), {"--runs_dir", runs});
    return run_tool("ml-train", args);
  }

  static TempDir* dir_;
  static ProcessResult* trained_;
};
TempDir* TrainingRun::dir_ = nullptr;
ProcessResult* TrainingRun::trained_ = nullptr;

TEST_F(TrainingRun, LearnsTheShapesToAtLeast95PercentValidationAccuracy) {
  ASSERT_EQ(trained_->exit_code, 0) << trained_->err;
  const auto metrics = nlohmann::json::parse(read_file(run_folder() + "/metrics.json"));
  ASSERT_EQ(metrics.size(), 6u);
  double best = 0;
  for (const auto& epoch : metrics) best = std::max(best, epoch["val_accuracy"].get<double>());
  EXPECT_GE(best, 0.95) << metrics.dump(1);
  EXPECT_LT(metrics.back()["train_loss"].get<double>(), metrics.front()["train_loss"].get<double>());
  EXPECT_NE(trained_->err.find("Test accuracy of best.pt"), std::string::npos) << trained_->err;
}

TEST_F(TrainingRun, WritesTheRunFolderAndCheckpointsPythonLoadsStrictly) {
  ASSERT_EQ(trained_->exit_code, 0) << trained_->err;
  for (const auto* name : {"weights/best.pt", "weights/last.pt", "config.yaml", "train.log", "metrics.csv", "metrics.json"})
    EXPECT_TRUE(fs::is_regular_file(run_folder() + "/" + name)) << name;
  const auto csv = read_file(run_folder() + "/metrics.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,epoch_seconds,images_per_second");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7);
  EXPECT_NE(read_file(run_folder() + "/train.log").find("Epoch 6/6"), std::string::npos);
  EXPECT_NE(read_file(run_folder() + "/config.yaml").find("custom_architecture: tiny_net"), std::string::npos);

  const auto last = checkpoint::load_checkpoint(run_folder() + "/weights/last.pt");
  EXPECT_EQ(last.epoch, 6);
  EXPECT_EQ(last.class_names, (std::vector<std::string>{"circles", "squares"}));
  EXPECT_EQ(last.model.architecture, "tiny_net");
  EXPECT_EQ(last.model.input_size, kSide);
  for (const auto* key : {"optimizer_state", "scheduler_state", "best_val_accuracy", "early_stopping", "seed"})
    EXPECT_TRUE(last.extras.count(key)) << key;

  MLTK_REQUIRE_ORACLE();
  const auto summary = nlohmann::json::parse(
      testkit::run_oracle("check_checkpoint.py", {run_folder() + "/weights/best.pt"}));
  EXPECT_EQ(summary["architecture"], "tiny_net");
  EXPECT_EQ(summary["class_names"], nlohmann::json({"circles", "squares"}));
  EXPECT_EQ(summary["logits_shape"], nlohmann::json({1, 2}));
}

TEST_F(TrainingRun, AnExistingRunFolderIsNeverOverwrittenSilently) {
  const auto runs = dir_->file("runs_existing");
  const auto folder = runs + "/shapes_custom_fold_0";
  ASSERT_EQ(train({"--config", config("shapes.yaml"), "--num_epochs", "2"}, runs).exit_code, 0);
  const auto refused = train({"--config", config("shapes.yaml"), "--num_epochs", "1"}, runs);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("already exists; pass --resume"), std::string::npos) << refused.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(folder + "/metrics.json")).size(), 2u);

  const auto overwritten = train({"--config", config("shapes.yaml"), "--num_epochs", "1", "--overwrite"}, runs);
  EXPECT_EQ(overwritten.exit_code, 0) << overwritten.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(folder + "/metrics.json")).size(), 1u);
}

TEST_F(TrainingRun, ResumingAfterOneEpochGivesTheSameWeightsAsTwoEpochsInOneRun) {
  // simple_cnn has dropout, and SGD momentum plus a step schedule carry state across epochs.
  write_config("resume.yaml",
               testkit::shapes_config(data_dir(), "shapes", kSide, "simple_cnn",
                                      "optimizer:\n  name: sgd\n  lr: 0.01\n  momentum: 0.9\n  nesterov: true\n"
                                      "scheduler:\n  name: step\n  step_size: 1\n  gamma: 0.5\n"));

  const auto whole = train({"--config", config("resume.yaml"), "--num_epochs", "2"}, dir_->file("runs_whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto first = train({"--config", config("resume.yaml"), "--num_epochs", "1"}, dir_->file("runs_split"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto second = train({"--config", config("resume.yaml"), "--num_epochs", "2", "--resume"}, dir_->file("runs_split"));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("Resuming after epoch 1"), std::string::npos) << second.err;

  const auto a = checkpoint::load_checkpoint(dir_->file("runs_whole") + "/shapes_custom_fold_0/weights/last.pt");
  const auto b = checkpoint::load_checkpoint(dir_->file("runs_split") + "/shapes_custom_fold_0/weights/last.pt");
  EXPECT_EQ(a.epoch, 2);
  EXPECT_EQ(b.epoch, 2);
  ASSERT_EQ(a.model_state_dict.size(), b.model_state_dict.size());
  for (size_t i = 0; i < a.model_state_dict.size(); ++i) {
    EXPECT_EQ(a.model_state_dict[i].first, b.model_state_dict[i].first);
    EXPECT_TRUE(torch::allclose(a.model_state_dict[i].second, b.model_state_dict[i].second, 1e-5, 1e-6))
        << a.model_state_dict[i].first;
  }
  const auto metrics = nlohmann::json::parse(read_file(dir_->file("runs_split") + "/shapes_custom_fold_0/metrics.json"));
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(metrics[1]["lr"].get<double>(), 0.005);
}

TEST_F(TrainingRun, ResumeWithoutAnEarlierRunIsAnError) {
  const auto result = train({"--config", config("shapes.yaml"), "--resume"}, dir_->file("runs_none"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("last.pt does not exist"), std::string::npos) << result.err;
}

TEST_F(TrainingRun, ResumingFromACorruptLastCheckpointNamesItAndTheRemedy) {
  const std::string runs = dir_->file("runs_corrupt");
  ASSERT_EQ(train({"--config", config("shapes.yaml"), "--num_epochs", "1"}, runs).exit_code, 0);
  const std::string last = runs + "/shapes_custom_fold_0/weights/last.pt";
  fs::resize_file(last, fs::file_size(last) / 2);
  const auto result = train({"--config", config("shapes.yaml"), "--num_epochs", "2", "--resume"}, runs);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(last), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("start it again with --overwrite"), std::string::npos) << result.err;
}

// Launchers stop jobs with SIGTERM: like Ctrl-C, it lets the batch finish and keeps last.pt.
TEST_F(TrainingRun, SigtermSavesLastCheckpointLikeCtrlC) {
  const std::string runs = dir_->file("runs_sigterm");
  const std::string log = dir_->file("sigterm.log");
  const std::string command = "exec " + std::string(MLTK_BINARY_DIR) + "/bin/ml-train --config " +
                              config("shapes.yaml") + " --num_epochs 500 --runs_dir " + runs + " >" + log + " 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The first epoch line is printed after the handler is installed.
  for (int waited = 0; waited < 120000 && (fs::exists(log) ? read_file(log) : std::string()).find("Epoch 1/500") == std::string::npos; waited += 20)
    usleep(20000);
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string output = read_file(log);
  ASSERT_TRUE(WIFEXITED(status)) << "ml-train died from signal " << WTERMSIG(status) << "\n" << output;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM) << output;
  EXPECT_NE(output.find("Training interrupted by SIGTERM"), std::string::npos) << output;
  const auto last = checkpoint::load_checkpoint(runs + "/shapes_custom_fold_0/weights/last.pt");
  EXPECT_EQ(last.extras.count("interrupted_during_epoch"), 1U);
  // What ml-report reads to leave the run out of a summary until it is resumed.
  const auto state = nlohmann::json::parse(read_file(runs + "/shapes_custom_fold_0/run_state.json"));
  EXPECT_EQ(state["state"], "interrupted") << state.dump();
}

TEST_F(TrainingRun, BadInputIsReportedClearly) {
  write_config("unknown_key.yaml", testkit::shapes_config(data_dir(), "shapes", kSide) + "  learning_rate: 3\n");
  auto result = train({"--config", config("unknown_key.yaml")}, dir_->file("runs_bad"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("learning_rate"), std::string::npos) << result.err;

  write_config("no_data.yaml", testkit::shapes_config(dir_->file("nowhere"), "shapes", kSide));
  result = train({"--config", config("no_data.yaml")}, dir_->file("runs_bad"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nowhere/shapes/raw does not exist"), std::string::npos) << result.err;

  // Raw images but no splits: the message says how to make them.
  fs::create_directories(dir_->file("nosplit/shapes/raw/a"));
  fs::copy_file(data_dir() + "/shapes/raw/circles/000.png", dir_->file("nosplit/shapes/raw/a/x.png"));
  write_config("no_split.yaml", testkit::shapes_config(dir_->file("nosplit"), "shapes", kSide));
  result = train({"--config", config("no_split.yaml")}, dir_->file("runs_bad"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("ml-split --raw_data"), std::string::npos) << result.err;

  result = train({"--config", config("shapes.yaml"), "--device", "cuda"}, dir_->file("runs_bad"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no CUDA device"), std::string::npos) << result.err;
}

TEST_F(TrainingRun, MissingIndexedFilesFailAndCorruptedImagesAreSkipped) {
  testkit::write_shapes_dataset(dir_->file("broken"), "shapes", 20, kSide, 4);
  const std::string raw = dir_->file("broken") + "/shapes/raw";
  const auto train_index = data::fold_index_path(dir_->file("broken") + "/shapes/splits", 0, "train");
  const auto first_line = read_file(train_index).substr(0, read_file(train_index).find('\n'));
  write_config("broken.yaml", testkit::shapes_config(dir_->file("broken"), "shapes", kSide));

  // A corrupted image: training goes on without it and names it.
  std::ofstream(raw + "/" + first_line, std::ios::trunc) << "not a png";
  auto result = train({"--config", config("broken.yaml"), "--num_epochs", "1"}, dir_->file("runs_broken"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(first_line), std::string::npos) << result.err;

  // An indexed file that is gone fails before training, naming it.
  fs::remove(raw + "/" + first_line);
  result = train({"--config", config("broken.yaml"), "--num_epochs", "1", "--overwrite"}, dir_->file("runs_broken"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(first_line), std::string::npos) << result.err;
}

// The shapes are learnt within a few epochs, after which validation accuracy cannot improve: with a
// patience of 2 the run must stop long before its 40 epochs, and say why.
TEST_F(TrainingRun, EarlyStoppingEndsARunThatStoppedImproving) {
  // The optimization text follows the training section, so indented lines still belong to it.
  write_config("patient.yaml", testkit::shapes_config(data_dir(), "shapes", kSide, "tiny_net",
                                                      std::string("  early_stopping:\n    patience: 2\n") +
                                                          testkit::kAdamNoSchedule));
  const auto result = train({"--config", config("patient.yaml"), "--num_epochs", "40"}, dir_->file("runs_patient"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("Early stopping: val_accuracy has not improved for 2 epochs"), std::string::npos)
      << result.err;
  const auto history = nlohmann::json::parse(read_file(dir_->file("runs_patient/shapes_custom_fold_0/metrics.json")));
  ASSERT_LT(history.size(), 40u);
  // The last two epochs did not beat the best before them.
  double best_before = 0.0;
  for (size_t i = 0; i + 2 < history.size(); ++i) best_before = std::max(best_before, history[i]["val_accuracy"].get<double>());
  for (size_t i = history.size() - 2; i < history.size(); ++i)
    EXPECT_LE(history[i]["val_accuracy"].get<double>(), best_before) << history.dump();
}

// The largest learning rate the schema accepts (10), with momentum 0.99, makes the loss overflow;
// the run must stop with the reason and the remedy rather than train on, and exit with 1.
TEST_F(TrainingRun, ADivergedLossStopsTheRunWithTheRemedy) {
  write_config("diverge.yaml",
               testkit::shapes_config(data_dir(), "shapes", kSide, "tiny_net",
                                      "optimizer:\n  name: sgd\n  lr: 10\n  momentum: 0.99\nscheduler:\n  name: none\n"));
  const auto result = train({"--config", config("diverge.yaml"), "--num_epochs", "5"}, dir_->file("runs_diverge"));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("training diverged; lower optimizer.lr"), std::string::npos) << result.err;
}

}  // namespace
