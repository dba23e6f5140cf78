// Faults during a write: a writer killed with SIGKILL, a full disk. The previous file must stay
// intact and readable, and what the failed write left behind must be hidden and cleaned up.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"
#include "mltk/onnx_export/model_writer.h"
#include "mltk/runtime/onnx_model_loader.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace mltk;
namespace fs = std::filesystem;

std::vector<std::string> leftovers(const fs::path& directory, const std::string& target_name) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(directory))
    if (is_atomic_write_leftover(entry.path().filename().string(), target_name))
      found.push_back(entry.path().filename().string());
  return found;
}

// Runs `write_forever` in a child process, kills it with SIGKILL once one of its temporary files
// for `target` exists, and reaps it.
void kill_writer_midway(const fs::path& target, const std::function<void()>& write_forever) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    write_forever();
    _exit(0);
  }
  for (int waited = 0; waited < 60000 && leftovers(target.parent_path(), target.filename().string()).empty(); ++waited)
    usleep(1000);
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer ended before it was killed";
}

// A deterministic kill: the child writes part of the new contents, tells the parent, and waits.
TEST(WriteFaults, KilledWriterLeavesThePreviousFileAndItsLeftoverIsRemovedNextTime) {
  TempDir dir;
  const std::string path = dir.file("state.pt");
  write_file_atomically(path, "previous contents");
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    write_file_atomically(path, [&](int fd) {
      if (write(fd, "partial", 7) != 7 || write(ready[1], "x", 1) != 1) _exit(1);
      pause();
      return 0;
    });
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(ready[0]);
  close(ready[1]);

  EXPECT_EQ(read_file(path), "previous contents");
  const auto left = leftovers(dir.path(), "state.pt");
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left[0].front(), '.') << "a leftover must be hidden from listings and *.pt patterns";
  write_file_atomically(path, "next contents");
  EXPECT_EQ(read_file(path), "next contents");
  EXPECT_TRUE(leftovers(dir.path(), "state.pt").empty());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

// Tensors for the forked writers are made before fork(): LibTorch fills large tensors on OpenMP
// threads, and a child forked after the parent started them can deadlock on their pool.
checkpoint::Checkpoint large_checkpoint(int64_t epoch, int64_t floats) {
  checkpoint::Checkpoint c;
  c.model_state_dict.emplace_back("weight", torch::full({floats}, static_cast<float>(epoch)));
  c.model = {"custom", "tiny_net", 2, 32};
  c.class_names = {"ants", "bees"};
  c.epoch = epoch;
  return c;
}

TEST(WriteFaults, CheckpointSaveKilledMidwayKeepsACompleteCheckpoint) {
  TempDir dir;
  const std::string path = dir.file("last.pt");
  checkpoint::save_checkpoint(large_checkpoint(1, 16), path);
  const std::vector<checkpoint::Checkpoint> later{large_checkpoint(2, 8 << 20), large_checkpoint(3, 8 << 20)};
  kill_writer_midway(path, [&] {
    for (size_t i = 0;; ++i) checkpoint::save_checkpoint(later[i % later.size()], path);
  });
  const auto survived = checkpoint::load_checkpoint(path);  // complete: the first one or a whole later one
  EXPECT_EQ(survived.model_state_dict.at(0).second[0].item<float>(), static_cast<float>(survived.epoch));
  checkpoint::save_checkpoint(large_checkpoint(99, 16), path);
  EXPECT_EQ(checkpoint::load_checkpoint(path).epoch, 99);
  EXPECT_TRUE(leftovers(dir.path(), "last.pt").empty());
}

onnx::ModelProto model_with_weight(int64_t floats) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  *model.mutable_graph()->add_initializer() = runtime::tensor_to_proto(torch::ones({floats}), "weight");
  return model;
}

TEST(WriteFaults, OnnxWriteKilledMidwayKeepsTheWholePreviousModel) {
  TempDir dir;
  const std::string path = dir.file("best.onnx");
  onnx_export::write_model_atomically(model_with_weight(4), path);
  const auto large = model_with_weight(16 << 20);
  kill_writer_midway(path, [&] {
    for (;;) onnx_export::write_model_atomically(large, path);
  });
  const auto survived = runtime::load_onnx_model(path);
  const auto size = survived.graph().initializer(0).raw_data().size();
  EXPECT_TRUE(size == 4 * 4 || size == (size_t{16} << 20) * 4) << size;
  onnx_export::write_model_atomically(model_with_weight(4), path);
  EXPECT_TRUE(leftovers(dir.path(), "best.onnx").empty());
}

// A failing write(2) as a full disk gives it: the error names the file and the system's reason.
TEST(WriteFaults, InjectedWriteFailureNamesTheFileAndKeepsThePreviousVersion) {
  TempDir dir;
  const std::string path = dir.file("best.pt");
  write_file_atomically(path, "previous contents");
  const auto message =
      testkit::message_of_throw([&] { write_file_atomically(path, [](int) { return ENOSPC; }); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("No space left on device"), std::string::npos) << message;
  EXPECT_EQ(read_file(path), "previous contents");
  EXPECT_TRUE(leftovers(dir.path(), "best.pt").empty());
}

// A real full disk: a 256 KiB tmpfs mounted in a private mount namespace of a child process (as
// root, or through a user namespace), where a checkpoint and a model larger than the disk are saved.
TEST(WriteFaults, FullDiskNamesTheFileAndKeepsThePreviousVersion) {
  TempDir dir;
  const std::string disk = dir.file("disk");
  fs::create_directories(disk);
  const std::string report = dir.file("report.txt");
  const auto first_checkpoint = large_checkpoint(1, 16), too_large_checkpoint = large_checkpoint(2, 1 << 20);
  const auto first_model = model_with_weight(4), too_large_model = model_with_weight(1 << 20);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const bool isolated = geteuid() == 0 ? unshare(CLONE_NEWNS) == 0 : unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0;
    if (!isolated || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("mltk-full", disk.c_str(), "tmpfs", 0, "size=256k") != 0)
      _exit(77);
    std::string outcome;
    const std::string checkpoint_path = disk + "/last.pt";
    const std::string model_path = disk + "/best.onnx";
    try {
      checkpoint::save_checkpoint(first_checkpoint, checkpoint_path);
      onnx_export::write_model_atomically(first_model, model_path);
      for (const auto& [name, save] : std::vector<std::pair<std::string, std::function<void()>>>{
               {checkpoint_path, [&] { checkpoint::save_checkpoint(too_large_checkpoint, checkpoint_path); }},
               {model_path, [&] { onnx_export::write_model_atomically(too_large_model, model_path); }}}) {
        try {
          save();
          outcome += name + ": saved on a full disk\n";
        } catch (const std::exception& error) {
          outcome += std::string(error.what()) + "\n";
        }
      }
      outcome += "epoch " + std::to_string(checkpoint::load_checkpoint(checkpoint_path).epoch) + "\n";
      outcome += "onnx bytes " + std::to_string(runtime::load_onnx_model(model_path).graph().initializer(0).raw_data().size()) + "\n";
      outcome += "leftovers " + std::to_string(leftovers(disk, "last.pt").size() + leftovers(disk, "best.onnx").size()) + "\n";
    } catch (const std::exception& error) {
      outcome += std::string("unexpected: ") + error.what() + "\n";
    }
    const int fd = open(report.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, outcome.data(), outcome.size()) != static_cast<ssize_t>(outcome.size())) _exit(1);
    close(fd);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    if (testkit::running_in_ci()) FAIL() << "cannot mount a tmpfs in a private mount namespace";
    GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace here";
  }
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const std::string outcome = read_file(report);
  EXPECT_NE(outcome.find("cannot write " + disk + "/last.pt: No space left on device"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("cannot write " + disk + "/best.onnx: No space left on device"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("epoch 1\n"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("onnx bytes 16\n"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("leftovers 0\n"), std::string::npos) << outcome;
}

}  // namespace
