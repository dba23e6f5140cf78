#pragma once
// A long-lived helper program connected to us by pipes on its stdin, stdout and stderr, for
// request/reply exchanges that must not hang: every read and write has a deadline, the child's
// stderr is drained while we wait (so it never blocks on a full pipe) and its last lines are kept
// for error messages, and the child is killed and reaped when the object goes away.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace mltk {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Io {
    kDone,      // every byte was transferred
    kClosed,    // the child closed its end (it exited or is exiting)
    kTimedOut,  // the deadline passed first
  };

  // Starts argv[0] (looked up on PATH) with the current environment, in our process group so that
  // Ctrl-C reaches it too. Throws std::system_error when it cannot be started; its code is
  // std::errc::no_such_file_or_directory when argv[0] is not found.
  explicit ChildProcess(const std::vector<std::string>& argv);
  // Kills the child (SIGKILL) if it is still running and reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes all `size` bytes to the child's stdin. A child that has exited gives kClosed, never SIGPIPE.
  Io write(const void* data, size_t size, Clock::time_point deadline);
  // Reads exactly `size` bytes from the child's stdout.
  Io read(void* data, size_t size, Clock::time_point deadline);

  // Waits until the child exits or `deadline` passes, then kills it if needed, reaps it and
  // returns how it ended, e.g. "exited with status 3" or "was killed by signal 9 (Killed)".
  // Its remaining stderr is collected first. Idempotent.
  std::string stop(Clock::time_point deadline);
  // The exit code once stop() found that the child exited normally.
  std::optional<int> exit_code() const;
  // The last few kilobytes the child wrote to stderr.
  const std::string& stderr_tail() const { return stderr_tail_; }

 private:
  // Polls `fd` for `events` together with stderr, draining stderr, until `fd` is ready, hung up or
  // the deadline passes.
  Io wait_for(int fd, short events, Clock::time_point deadline);
  void drain_stderr();
  void close_fd(int& fd);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stderr_tail_;
  std::optional<int> wait_status_;
};

}  // namespace mltk
