#include "mltk/common/atomic_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace mltk {
namespace {

namespace fs = std::filesystem;

std::runtime_error write_error(const std::string& path, int error) {
  return std::runtime_error("cannot write " + path + ": " + std::strerror(error));
}

std::string random_suffix() {
  uint64_t bits = 0;
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits))
    bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&bits)) ^ static_cast<uint64_t>(::clock());
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix;
  for (int i = 0; i < 8; ++i, bits /= 36) suffix += alphabet[bits % 36];
  return suffix;
}

// Removes the temporary files earlier writes of `target` left behind when their process died.
void remove_leftovers(const fs::path& directory, const std::string& target_name) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!is_atomic_write_leftover(name, target_name)) continue;
    const long writer = std::strtol(name.c_str() + target_name.size() + 2, nullptr, 10);
    if (writer > 0 && writer != ::getpid() && ::kill(static_cast<pid_t>(writer), 0) != 0 && errno == ESRCH)
      fs::remove(entry.path(), error);
  }
}

// O_EXCL with mode 0666 lets the kernel apply the umask as the file is created: no umask() calls,
// which would race with every other thread creating files.
int create_temporary(const fs::path& directory, const std::string& target_name, std::string& temporary) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    temporary = (directory / ("." + target_name + "." + std::to_string(::getpid()) + "." + random_suffix() + ".tmp")).string();
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

int write_all(int fd, std::string_view contents) {
  const char* data = contents.data();
  size_t remaining = contents.size();
  while (remaining > 0) {
    const ssize_t written = ::write(fd, data, remaining);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += written;
    remaining -= static_cast<size_t>(written);
  }
  return 0;
}

}  // namespace

bool is_atomic_write_leftover(const std::string& file_name, const std::string& target_name) {
  const std::string prefix = "." + target_name + ".";
  if (file_name.size() <= prefix.size() + 4 || file_name.compare(0, prefix.size(), prefix) != 0 ||
      file_name.compare(file_name.size() - 4, 4, ".tmp") != 0)
    return false;
  const size_t digits = file_name.find_first_not_of("0123456789", prefix.size());
  return digits > prefix.size() && digits != std::string::npos && file_name[digits] == '.';
}

void write_file_atomically(const std::string& path, const std::function<int(int fd)>& write) {
  const fs::path target(path);
  const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(directory))
    throw std::runtime_error("cannot write " + path + ": directory " + directory.string() + " does not exist");
  const std::string target_name = target.filename().string();
  remove_leftovers(directory, target_name);
  std::string temporary;
  const int fd = create_temporary(directory, target_name, temporary);
  if (fd < 0)
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno) + " (is " + directory.string() +
                             " writable?)");
  int error = write(fd);
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temporary.c_str());
    throw write_error(path, error);
  }
}

void write_file_atomically(const std::string& path, std::string_view contents) {
  write_file_atomically(path, [contents](int fd) { return write_all(fd, contents); });
}

}  // namespace mltk
