// Data-parallel training as users launch it: ml-train under PyTorch's own launcher (torchrun, run
// here as `python3 -m torch.distributed.run --no_python`) on loopback, checked against a
// single-process run of the same configuration.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/data/split_index.h"
#include "mltk/distributed/launch_environment.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace {

using namespace mltk;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A port nobody listens on right now, so that tests running in parallel do not meet.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("cannot find a free port");
  close(fd);
  return ntohs(address.sin_port);
}

// A program running in its own process group with stdout and stderr in a file.
class Launched {
 public:
  Launched(const std::vector<std::string>& argv, std::string log) : log_(std::move(log)) {
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      setpgid(0, 0);
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    setpgid(pid_, pid_);
  }
  ~Launched() {
    if (!exit_code_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  std::string output() const { return fs::exists(log_) ? read_file(log_) : std::string(); }
  // The exit code (128 + signal when killed), or nullopt when it is still running after `limit`;
  // it is then killed with everything it started.
  std::optional<int> wait(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!exit_code_ && Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_)
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return exit_code_;
  }
  bool output_contains(const std::string& text, std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (output().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

std::string ml_train() { return std::string(MLTK_BINARY_DIR) + "/bin/ml-train"; }

// torchrun from Debian's python3-torch, starting ml-train itself. Its 1.13 under Python 3.11 cannot
// parse the default "0" of --redirects and --tee; redirecting stdout, where ml-train writes nothing,
// leaves the log on stderr untouched.
std::vector<std::string> torchrun(const std::vector<std::string>& launcher_args, const std::vector<std::string>& train_args) {
  std::vector<std::string> argv{testkit::oracle_python(), "-m",  "torch.distributed.run", "--redirects", "1",
                                "--tee",                  "1",   "--no_python"};
  argv.insert(argv.end(), launcher_args.begin(), launcher_args.end());
  argv.push_back(ml_train());
  argv.insert(argv.end(), train_args.begin(), train_args.end());
  return argv;
}

std::vector<std::string> one_machine(int processes, int port) {
  return {"--nproc_per_node", std::to_string(processes), "--master_addr", "127.0.0.1", "--master_port",
          std::to_string(port)};
}

void expect_same_weights(const std::string& reference_path, const std::string& other_path) {
  const auto reference = checkpoint::load_checkpoint(reference_path);
  const auto other = checkpoint::load_checkpoint(other_path);
  EXPECT_EQ(reference.epoch, other.epoch);
  ASSERT_EQ(reference.model_state_dict.size(), other.model_state_dict.size());
  for (size_t i = 0; i < reference.model_state_dict.size(); ++i) {
    const auto& [name, expected] = reference.model_state_dict[i];
    const auto& actual = other.model_state_dict[i].second;
    EXPECT_EQ(name, other.model_state_dict[i].first);
    EXPECT_TRUE(torch::allclose(actual, expected, 0, 1e-4))
        << name << ": largest difference " << (actual - expected).abs().max().item<double>();
  }
}

// The pid of the ml-train process with `rank` in the job whose master port is `port`.
std::optional<pid_t> rank_pid(int rank, int port) {
  const std::string rank_entry = "RANK=" + std::to_string(rank), port_entry = "MASTER_PORT=" + std::to_string(port);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    if (!std::getline(comm, command) || command != "ml-train") continue;
    std::ifstream environ(entry.path() / "environ");
    bool has_rank = false, has_port = false;
    for (std::string variable; std::getline(environ, variable, '\0');) {
      has_rank |= variable == rank_entry;
      has_port |= variable == port_entry;
    }
    if (has_rank && has_port) return static_cast<pid_t>(std::stoi(name));
  }
  return std::nullopt;
}

// A 160-image Fashion-MNIST subset split into test (30), train (65) and validation (65) images,
// and tiny_net, which has neither BatchNorm nor dropout: its training depends only on the data
// order, the augmentation and the averaged gradients.
class DistributedTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("mltk-distributed");
    const std::string raw = dir_->file("data/fashion_mnist/raw");
    const auto imported = testkit::run_tool("ml-import-fashion-mnist", {"--per_class", "16", "--output", raw});
    if (imported.exit_code != 0) {
      setup_error_ = "ml-import-fashion-mnist failed (is dataset-fashion-mnist installed?): " + imported.err;
      return;
    }
    const auto split = testkit::run_tool("ml-split", {"--raw_data", raw, "--folds", "2", "--test_ratio", "0.2"});
    if (split.exit_code != 0) setup_error_ = "ml-split failed: " + split.err;
    std::ofstream(config()) << "data:\n  dataset_name: fashion_mnist\n  data_dir: " << dir_->file("data")
                            << "\n  num_folds: 2\n  num_workers: 0\n"
                               "model:\n  type: custom\n  custom_architecture: tiny_net\n  input_size: 28\n"
                               "training:\n  num_epochs: 2\n  batch_size: 16\n  seed: 5\n"
                               "optimizer:\n  name: sgd\n  lr: 0.05\n  momentum: 0.9\n"
                               "scheduler:\n  name: step\n  step_size: 1\n  gamma: 0.5\n"
                               "transforms:\n  train:\n    random_resized_crop:\n      scale: [0.7, 1.0]\n"
                               "    horizontal_flip: 0.5\n  eval:\n    resize: 28\n";
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    MLTK_REQUIRE_ORACLE();
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static std::string config() { return dir_->file("fashion.yaml"); }
  static std::string run_folder(const std::string& runs) { return runs + "/fashion_mnist_custom_fold_0"; }
  static std::string last_checkpoint(const std::string& runs) { return run_folder(runs) + "/weights/last.pt"; }

  // One process of batch 16, the reference every data-parallel run is compared with; trained once.
  static const std::string& single_process_runs() {
    static const std::string runs = [] {
      const std::string folder = dir_->file("runs_single");
      const auto result = testkit::run_tool("ml-train", {"--config", config(), "--runs_dir", folder, "--threads", "1"});
      EXPECT_EQ(result.exit_code, 0) << result.err;
      return folder;
    }();
    return runs;
  }

  static TempDir* dir_;
  static std::string setup_error_;
};
TempDir* DistributedTraining::dir_ = nullptr;
std::string DistributedTraining::setup_error_;

TEST_F(DistributedTraining, TwoProcessesOfBatch8LearnTheWeightsOfOneProcessOfBatch16) {
  const std::string runs = dir_->file("runs_two");
  // Two loader threads per process against none in the reference: the results must not depend on it.
  Launched job(torchrun(one_machine(2, free_port()), {"--config", config(), "--runs_dir", runs, "--batch_size", "8",
                                                       "--num_workers", "2"}),
               dir_->file("two.log"));
  ASSERT_EQ(job.wait(std::chrono::seconds(120)), 0) << job.output();
  expect_same_weights(last_checkpoint(single_process_runs()), last_checkpoint(runs));

  const auto reference = nlohmann::json::parse(read_file(run_folder(single_process_runs()) + "/metrics.json"));
  const auto metrics = nlohmann::json::parse(read_file(run_folder(runs) + "/metrics.json"));
  ASSERT_EQ(metrics.size(), reference.size());
  for (size_t epoch = 0; epoch < metrics.size(); ++epoch)
    for (const char* key : {"train_loss", "val_loss", "val_accuracy", "lr"})
      EXPECT_NEAR(metrics[epoch][key].get<double>(), reference[epoch][key].get<double>(), 1e-4) << key << " " << epoch;

  const std::string output = job.output();
  EXPECT_NE(output.find("Data-parallel on 2 processes: batch 8 per process, global batch 16"), std::string::npos) << output;
  EXPECT_NE(output.find("Gradient all-reduce:"), std::string::npos) << output;
  // Rank 1 logs only warnings and errors, and there were none.
  EXPECT_EQ(output.find("rank 1 |"), std::string::npos) << output;
  EXPECT_EQ(read_file(run_folder(runs) + "/train.log").find("rank 1"), std::string::npos);
}

TEST_F(DistributedTraining, ThreeProcessesOnSplitsThatDoNotDivideEvenlyReportTheWholeValidationSet) {
  const std::string runs = dir_->file("runs_three");
  Launched job(torchrun(one_machine(3, free_port()), {"--config", config(), "--runs_dir", runs, "--batch_size", "8",
                                                       "--num_epochs", "1"}),
               dir_->file("three.log"));
  ASSERT_EQ(job.wait(std::chrono::seconds(120)), 0) << job.output();
  EXPECT_NE(job.output().find("global batch 24"), std::string::npos) << job.output();

  // The validation figures gathered from three uneven shards (65 images: 22, 22, 21) are those of
  // ml-inference evaluating the saved weights on the whole validation split in one process.
  const auto metrics = nlohmann::json::parse(read_file(run_folder(runs) + "/metrics.json"));
  ASSERT_EQ(metrics.size(), 1u);
  const std::string val_split = data::fold_index_path(dir_->file("data/fashion_mnist/splits"), 0, "val");
  const auto evaluated = testkit::run_tool("ml-inference", {"--checkpoint_path", last_checkpoint(runs), "--split_file",
                                                            val_split, "--output", dir_->file("three_val.json")});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const auto report = nlohmann::json::parse(read_file(dir_->file("three_val.json")));
  ASSERT_EQ(report["num_samples"].get<int>(), 65);
  EXPECT_NEAR(metrics[0]["val_accuracy"].get<double>(), report["accuracy"].get<double>(), 1e-9) << report.dump(1);
}

TEST_F(DistributedTraining, TwoLaunchersAsTwoNodesLearnTheWeightsOfOneProcess) {
  const std::string runs = dir_->file("runs_nodes");
  const int port = free_port();
  const auto node = [&](int rank) {
    return torchrun({"--nnodes", "2", "--node_rank", std::to_string(rank), "--nproc_per_node", "1", "--master_addr",
                     "127.0.0.1", "--master_port", std::to_string(port)},
                    {"--config", config(), "--runs_dir", runs, "--batch_size", "8"});
  };
  Launched first(node(0), dir_->file("node0.log")), second(node(1), dir_->file("node1.log"));
  ASSERT_EQ(first.wait(std::chrono::seconds(120)), 0) << first.output();
  ASSERT_EQ(second.wait(std::chrono::seconds(30)), 0) << second.output();
  expect_same_weights(last_checkpoint(single_process_runs()), last_checkpoint(runs));
}

TEST_F(DistributedTraining, AKilledRankMakesTheOthersStopNamingIt) {
  const std::string runs = dir_->file("runs_killed");
  const int port = free_port();
  Launched job(torchrun(one_machine(2, port), {"--config", config(), "--runs_dir", runs, "--batch_size", "8",
                                               "--num_epochs", "100000", "--dist_timeout", "60"}),
               dir_->file("killed.log"));
  ASSERT_TRUE(job.output_contains("Epoch 2/100000", std::chrono::seconds(90))) << job.output();
  const auto victim = rank_pid(1, port);
  ASSERT_TRUE(victim) << "no ml-train process with RANK=1 and MASTER_PORT=" << port;
  kill(*victim, SIGKILL);
  // Well within --dist_timeout: a dead peer is noticed at once, not by waiting for the timeout.
  const auto exit_code = job.wait(std::chrono::seconds(45));
  ASSERT_TRUE(exit_code) << "the job still runs 45 s after rank 1 was killed\n" << job.output();
  EXPECT_NE(*exit_code, 0);
  EXPECT_NE(job.output().find("rank 1 stopped responding"), std::string::npos) << job.output();
}

TEST_F(DistributedTraining, SigtermStopsEveryRankKeepsLastCheckpointAndResumesWithAnotherProcessCount) {
  const std::string runs = dir_->file("runs_sigterm");
  Launched job(torchrun(one_machine(2, free_port()), {"--config", config(), "--runs_dir", runs, "--batch_size", "8",
                                                       "--num_epochs", "100000"}),
               dir_->file("sigterm.log"));
  ASSERT_TRUE(job.output_contains("Epoch 2/100000", std::chrono::seconds(90))) << job.output();
  kill(job.pid(), SIGTERM);
  ASSERT_TRUE(job.wait(std::chrono::seconds(60))) << job.output();
  EXPECT_NE(job.output().find("Training interrupted by SIGTERM"), std::string::npos) << job.output();
  // Rank 1 stopped too, and its warning carries its rank.
  EXPECT_NE(job.output().find("rank 1 | Training interrupted by SIGTERM"), std::string::npos) << job.output();
  const auto last = checkpoint::load_checkpoint(last_checkpoint(runs));
  ASSERT_EQ(last.extras.count("interrupted_during_epoch"), 1u) << job.output();

  // Three processes continue what two began, and finish the interrupted epoch.
  const int interrupted_epoch = static_cast<int>(last.epoch) + 1;
  Launched resumed(torchrun(one_machine(3, free_port()),
                            {"--config", config(), "--runs_dir", runs, "--batch_size", "8", "--num_epochs",
                             std::to_string(interrupted_epoch), "--resume"}),
                   dir_->file("resumed.log"));
  ASSERT_EQ(resumed.wait(std::chrono::seconds(120)), 0) << resumed.output();
  EXPECT_NE(resumed.output().find("Resuming after epoch " + std::to_string(last.epoch)), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(read_file(run_folder(runs) + "/metrics.json")).size(),
            static_cast<size_t>(interrupted_epoch));
  EXPECT_EQ(checkpoint::load_checkpoint(last_checkpoint(runs)).epoch, interrupted_epoch);
}

// Misconfigured launches fail with the variable and the remedy, before any connection is tried.
distributed::EnvironmentLookup environment_of(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  };
}

TEST(DistributedLaunchEnvironment, ReadsTorchrunsVariables) {
  EXPECT_FALSE(distributed::read_launch_environment(environment_of({})));
  EXPECT_FALSE(distributed::read_launch_environment(environment_of({{"WORLD_SIZE", "1"}, {"RANK", "0"}})));
  const auto environment = distributed::read_launch_environment(environment_of(
      {{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "node0"},
       {"MASTER_PORT", "29400"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  ASSERT_TRUE(environment);
  EXPECT_EQ(environment->rank, 3);
  EXPECT_EQ(environment->world_size, 4);
  EXPECT_EQ(environment->local_rank, 1);
  EXPECT_EQ(environment->local_world_size, 2);
  EXPECT_EQ(environment->master_addr, "node0");
  EXPECT_EQ(environment->master_port, 29400);
  EXPECT_TRUE(environment->launcher_hosts_store);
  EXPECT_EQ(environment->restart_count, 2);
}

TEST(DistributedLaunchEnvironment, BadValuesNameTheVariable) {
  const std::map<std::string, std::string> good{{"WORLD_SIZE", "2"},       {"RANK", "1"},
                                                {"LOCAL_RANK", "1"},       {"LOCAL_WORLD_SIZE", "2"},
                                                {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  const auto message_with = [&](const std::string& name, const std::optional<std::string>& value) {
    auto variables = good;
    if (value) variables[name] = *value;
    else variables.erase(name);
    return testkit::message_of_throw([&] { distributed::read_launch_environment(environment_of(variables)); });
  };
  EXPECT_NE(message_with("WORLD_SIZE", "abc").find("WORLD_SIZE is 'abc'"), std::string::npos);
  EXPECT_NE(message_with("RANK", "2").find("RANK is '2'; it must be a whole number from 0 to 1"), std::string::npos);
  EXPECT_NE(message_with("LOCAL_RANK", "-1").find("LOCAL_RANK is '-1'"), std::string::npos);
  EXPECT_NE(message_with("MASTER_PORT", "70000").find("MASTER_PORT is '70000'"), std::string::npos);
  EXPECT_NE(message_with("MASTER_ADDR", std::nullopt).find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(message_with("RANK", "1x").find("RANK is '1x'"), std::string::npos);
}

TEST(DistributedLaunchEnvironment, AnUnreachableStoreFailsWithinTheTimeoutNamingTheAddress) {
  const int port = free_port();  // nobody listens there
  const auto started = Clock::now();
  const auto result = run_process({"/usr/bin/env", "WORLD_SIZE=2", "RANK=1", "LOCAL_RANK=1", "LOCAL_WORLD_SIZE=2",
                                   "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port), ml_train(),
                                   "--config", std::string(MLTK_SOURCE_DIR) + "/configs/fashion_mnist_config.yaml",
                                   "--runs_dir", "/nonexistent-never-written", "--dist_timeout", "3"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(60));
  EXPECT_NE(result.err.find("could not join the job's store at 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << result.err;
}

}  // namespace
