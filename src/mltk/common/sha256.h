#pragma once
// SHA-256 (FIPS 180-4), for the checksums deployment folders record of their model files.
#include <string>

namespace mltk {

// Lowercase hex digest of the file's bytes; throws std::runtime_error naming `path` when it
// cannot be read.
std::string sha256_hex_of_file(const std::string& path);

}  // namespace mltk
