#include "mltk/common/child_process.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

extern char** environ;

namespace mltk {

namespace {

constexpr size_t kStderrTailBytes = 8192;

// Blocks SIGPIPE in the calling thread for one write, so that a child that has exited turns into
// EPIPE instead of killing us; a SIGPIPE raised meanwhile is consumed before the mask is restored.
// Thread-local, unlike ignoring SIGPIPE process-wide, which would change the program's behaviour.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec no_wait{};
      while (sigtimedwait(&sigpipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

// Both ends of a pipe, closed on exec so that no other child we start inherits them (a stray copy
// of the write end of the child's stdin would keep it from ever seeing end-of-file).
struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "cannot create a pipe");
  return {fds[0], fds[1]};
}

void close_quietly(int fd) {
  if (fd >= 0) ::close(fd);
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int remaining_ms(ChildProcess::Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - ChildProcess::Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("ended with wait status {}", status);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  Pipe in, out, err;
  try {
    in = make_pipe();
    out = make_pipe();
    err = make_pipe();
  } catch (...) {
    for (int fd : {in.read, in.write, out.read, out.write, err.read, err.write}) close_quietly(fd);
    throw;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);

  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // glibc's posix_spawnp reports exec failures (ENOENT for a missing program) as its result.
  const int error = posix_spawnp(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  for (int fd : {in.read, out.write, err.write}) close_quietly(fd);
  if (error != 0) {
    for (int fd : {in.write, out.read, err.read}) close_quietly(fd);
    throw std::system_error(error, std::generic_category(), "cannot start " + argv[0]);
  }
  stdin_fd_ = in.write;
  stdout_fd_ = out.read;
  stderr_fd_ = err.read;
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_}) set_nonblocking(fd);
}

ChildProcess::~ChildProcess() { stop(Clock::now()); }

void ChildProcess::close_fd(int& fd) {
  close_quietly(fd);
  fd = -1;
}

void ChildProcess::drain_stderr() {
  char buffer[4096];
  while (stderr_fd_ >= 0) {
    const ssize_t n = ::read(stderr_fd_, buffer, sizeof buffer);
    if (n > 0) {
      stderr_tail_.append(buffer, static_cast<size_t>(n));
      if (stderr_tail_.size() > kStderrTailBytes) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
    } else if (n == 0) {
      close_fd(stderr_fd_);
    } else if (errno != EINTR) {
      if (errno != EAGAIN) close_fd(stderr_fd_);
      return;
    }
  }
}

ChildProcess::Io ChildProcess::wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd fds[2] = {{fd, events, 0}, {stderr_fd_, POLLIN, 0}};
    const int timeout = remaining_ms(deadline);
    const int ready = ::poll(fds, 2, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll on a child process's pipes");
    }
    if (fds[1].revents != 0) drain_stderr();
    if (fds[0].revents != 0) return Io::kDone;  // ready, or hung up: the next read/write tells which
    if (ready == 0 && timeout == 0) return Io::kTimedOut;
    if (Clock::now() >= deadline) return Io::kTimedOut;
  }
}

ChildProcess::Io ChildProcess::write(const void* data, size_t size, Clock::time_point deadline) {
  const SigpipeBlock no_sigpipe;
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    if (stdin_fd_ < 0) return Io::kClosed;
    const ssize_t n = ::write(stdin_fd_, next, size);
    if (n >= 0) {
      next += n;
      size -= static_cast<size_t>(n);
    } else if (errno == EAGAIN) {
      if (wait_for(stdin_fd_, POLLOUT, deadline) == Io::kTimedOut) return Io::kTimedOut;
    } else if (errno == EPIPE) {
      close_fd(stdin_fd_);
      return Io::kClosed;
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "write to a child process");
    }
  }
  return Io::kDone;
}

ChildProcess::Io ChildProcess::read(void* data, size_t size, Clock::time_point deadline) {
  char* next = static_cast<char*>(data);
  while (size > 0) {
    if (stdout_fd_ < 0) return Io::kClosed;
    const ssize_t n = ::read(stdout_fd_, next, size);
    if (n > 0) {
      next += n;
      size -= static_cast<size_t>(n);
    } else if (n == 0) {
      close_fd(stdout_fd_);
      return Io::kClosed;
    } else if (errno == EAGAIN) {
      if (wait_for(stdout_fd_, POLLIN, deadline) == Io::kTimedOut) return Io::kTimedOut;
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "read from a child process");
    }
  }
  return Io::kDone;
}

std::string ChildProcess::stop(Clock::time_point deadline) {
  if (!wait_status_ && pid_ > 0) {
    close_fd(stdin_fd_);  // a child that reads its stdin sees end-of-file and can exit on its own
    int status = 0;
    while (true) {
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || (done < 0 && errno != EINTR)) break;
      if (Clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      pollfd err{stderr_fd_, POLLIN, 0};
      ::poll(&err, 1, std::min(remaining_ms(deadline), 10));
      drain_stderr();
    }
    wait_status_ = status;
    drain_stderr();
    close_fd(stdout_fd_);
    close_fd(stderr_fd_);
  }
  return wait_status_ ? describe_wait_status(*wait_status_) : "was never started";
}

std::optional<int> ChildProcess::exit_code() const {
  if (wait_status_ && WIFEXITED(*wait_status_)) return WEXITSTATUS(*wait_status_);
  return std::nullopt;
}

}  // namespace mltk
