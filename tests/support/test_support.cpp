#include "support/test_support.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>

extern char** environ;

namespace mltk::testkit {

TempDir::TempDir() {
  std::random_device random;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("mltk-test-" + std::to_string(random()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

CommandResult run_command(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  CommandResult result;
  if (spawn_error != 0) {
    close(pipe_fds[0]);
    result.output = "cannot start " + argv[0];
    return result;
  }
  std::array<char, 4096> buffer;
  ssize_t count;
  while ((count = read(pipe_fds[0], buffer.data(), buffer.size())) > 0) result.output.append(buffer.data(), count);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string oracle_python() {
  const char* env = std::getenv("MLTK_ORACLE_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

bool oracle_available() {
  static const bool available =
      run_command({oracle_python(), "-c", "import torch, torchvision"}).exit_code == 0;
  return available;
}

std::string oracle_script(const std::string& name) { return std::string(MLTK_SOURCE_DIR) + "/tests/oracle/" + name; }

std::string run_oracle(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {oracle_python(), oracle_script(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = run_command(argv);
  if (result.exit_code != 0)
    throw std::runtime_error(script + " failed (exit " + std::to_string(result.exit_code) + "):\n" + result.output);
  return result.output;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

}  // namespace mltk::testkit
