#pragma once
// CRC-32 checksums of the records of a zip archive, read from its central directory. LibTorch's
// archive reader does not verify them, so a checkpoint with flipped bytes inside a tensor would
// otherwise load silently with wrong weights.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace mltk::checkpoint {

// Record name (without the archive's top-level folder) -> CRC-32. Throws std::runtime_error when
// the file has no readable central directory. Records whose CRC is unavailable are absent.
std::map<std::string, uint32_t> read_zip_checksums(const std::string& path);

uint32_t crc32_of(const void* data, size_t size);

}  // namespace mltk::checkpoint
