#include "fuzz_input_file.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace mltk::fuzz {

namespace {

// Removed with the process's static objects, so that millions of runs leave nothing behind.
struct PrivateFolder {
  std::string path;
  PrivateFolder() {
    path = (std::filesystem::temp_directory_path() / "mltk-fuzz-XXXXXX").string();
    if (!mkdtemp(path.data())) throw std::runtime_error("cannot create a folder under " + path);
  }
  ~PrivateFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

const std::string& private_folder() {
  static const PrivateFolder folder;
  return folder.path;
}

std::string write_input_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = private_folder() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("cannot write " + path);
  const size_t written = size ? std::fwrite(data, 1, size, file) : 0;
  const bool closed = std::fclose(file) == 0;
  if (written != size || !closed) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace mltk::fuzz
