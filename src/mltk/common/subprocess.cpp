#include "mltk/common/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

extern char** environ;

namespace mltk {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "cannot create temp dir " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; a leftover temp dir is harmless
  fs::remove_all(path_, ignored);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

namespace {

// Owns a posix_spawn_file_actions_t so every exit path destroys it.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;

  void read_from(int fd, const fs::path& file) {
    posix_spawn_file_actions_addopen(&actions_, fd, file.c_str(), O_RDONLY, 0);
  }
  void redirect(int fd, const fs::path& file) {
    posix_spawn_file_actions_addopen(&actions_, fd, file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  const posix_spawn_file_actions_t* get() const { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
  // Output goes to files rather than pipes: no risk of the child blocking on a full pipe while we
  // wait for it, and the helpers print little.
  TempDir capture("mltk-proc");
  const fs::path out_file = capture.path() / "stdout";
  const fs::path err_file = capture.path() / "stderr";
  FileActions actions;
  actions.read_from(STDIN_FILENO, "/dev/null");
  actions.redirect(STDOUT_FILENO, out_file);
  actions.redirect(STDERR_FILENO, err_file);

  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  // glibc's posix_spawnp reports exec failures (ENOENT for a missing program) as its result.
  if (int error = posix_spawnp(&pid, argv[0].c_str(), actions.get(), nullptr, args.data(), environ)) {
    throw std::system_error(error, std::generic_category(), "cannot start " + argv[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid for " + argv[0]);
  }

  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  return result;
}

}  // namespace mltk
