#pragma once
#include <string>
#include <string_view>

namespace mltk {

// Writes `contents` to `path` so that readers see either the old file or the complete new one:
// the bytes go to a temporary file in the same directory, are flushed to disk, then renamed over
// `path`. Throws std::runtime_error naming the path when the directory is missing or not writable.
void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace mltk
