#pragma once
// CRC-32 checksums and sizes of the records of a zip archive, read from its central directory. LibTorch's
// archive reader does not verify them, so a checkpoint with flipped bytes inside a tensor would
// otherwise load silently with wrong weights.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace mltk::checkpoint {

struct ZipRecord {
  uint32_t crc32 = 0;
  uint64_t size = 0;  // uncompressed bytes, as the directory claims
};

// Record name (without the archive's top-level folder) -> its CRC-32 and size. Throws
// std::runtime_error when the file has no readable central directory. A zip64 directory is not
// read (the map is empty): those records are only checked by the archive reader itself.
std::map<std::string, ZipRecord> read_zip_records(const std::string& path);

uint32_t crc32_of(const void* data, size_t size);

}  // namespace mltk::checkpoint
