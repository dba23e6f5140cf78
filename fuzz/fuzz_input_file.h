#pragma once
// For entry points that take a path: the fuzz input written to a file in a folder private to this
// process. The folder stays empty otherwise, so references an input makes to neighbouring files
// (ONNX external data) resolve inside it and never reach other files.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mltk::fuzz {

// The process's private folder, created on first use.
const std::string& private_folder();

// Replaces the file `name` in private_folder() with `size` bytes of `data`; returns its path.
std::string write_input_file(const std::string& name, const uint8_t* data, size_t size);

}  // namespace mltk::fuzz
