// The split index reader (data/split_index.h) on arbitrary index files, resolved against a dataset
// folder holding one image per class, so that inputs naming those images get past the checks.
#include "fuzz_input_file.h"
#include "mltk/data/split_index.h"

#include <exception>
#include <filesystem>
#include <vector>

namespace {

const std::string& dataset_folder() {
  static const std::string folder = [] {
    const std::filesystem::path raw = std::filesystem::path(mltk::fuzz::private_folder()) / "raw";
    for (const char* image : {"ants/0013035.jpg", "bees/16838648_415acd9e3f.jpg"}) {
      std::filesystem::create_directories((raw / image).parent_path());
      mltk::fuzz::write_input_file(("raw/" + std::string(image)), nullptr, 0);
    }
    return raw.string();
  }();
  return folder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& raw_dir = dataset_folder();
  const std::string path = mltk::fuzz::write_input_file("test.txt", data, size);
  try {
    mltk::data::read_index(path, raw_dir, {"ants", "bees"});
  } catch (const std::exception&) {
    // A refused index is the expected outcome for almost every input.
  }
  return 0;
}
