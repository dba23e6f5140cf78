#pragma once
// Running helper programs (node, python) without a shell, and the scratch directories used to
// exchange files with them.
#include <filesystem>
#include <string>
#include <vector>

namespace mltk {

// A fresh private directory under the system temp dir, removed with everything in it on
// destruction so that failed runs do not leave tensors behind.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "mltk");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct ProcessResult {
  int exit_code = 0;  // 128 + signal number when the process was killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up on PATH) with the given arguments and the current environment, waits
// for it and returns its exit code and captured stdout/stderr. Arguments are passed as-is, never
// through a shell. Throws std::system_error when the program cannot be started; its code is
// std::errc::no_such_file_or_directory when argv[0] is not found.
ProcessResult run_process(const std::vector<std::string>& argv);

std::string read_file(const std::filesystem::path& path);

}  // namespace mltk
