#include "mltk/checkpoint/zip_checksums.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace mltk::checkpoint {
namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kCentralDirectoryEntry = 0x02014b50;
constexpr size_t kEndRecordSize = 22;
constexpr size_t kEntryHeaderSize = 46;

uint32_t u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t u16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

}  // namespace

std::map<std::string, uint32_t> read_zip_checksums(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open file");
  const std::streamoff file_size = in.tellg();
  // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
  const std::streamoff tail_size = std::min<std::streamoff>(file_size, kEndRecordSize + 65535);
  std::vector<char> tail(static_cast<size_t>(tail_size));
  in.seekg(file_size - tail_size);
  in.read(tail.data(), tail_size);
  std::streamoff end_record = -1;
  for (std::streamoff i = tail_size - static_cast<std::streamoff>(kEndRecordSize); i >= 0; --i)
    if (u32(&tail[i]) == kEndOfCentralDirectory) {
      end_record = i;
      break;
    }
  if (end_record < 0) throw std::runtime_error("no zip central directory (truncated or not a torch.save file)");
  const uint32_t directory_size = u32(&tail[end_record + 12]);
  const uint32_t directory_offset = u32(&tail[end_record + 16]);
  std::map<std::string, uint32_t> checksums;
  if (directory_offset == 0xFFFFFFFF || directory_size == 0xFFFFFFFF) return checksums;  // zip64: not verified
  if (static_cast<std::streamoff>(directory_offset) + directory_size > file_size)
    throw std::runtime_error("zip central directory points past the end of the file (truncated?)");
  std::vector<char> directory(directory_size);
  in.seekg(directory_offset);
  in.read(directory.data(), directory_size);
  for (size_t pos = 0; pos + kEntryHeaderSize <= directory.size();) {
    const char* entry = &directory[pos];
    if (u32(entry) != kCentralDirectoryEntry) throw std::runtime_error("corrupted zip central directory");
    const uint32_t crc = u32(entry + 16);
    const size_t name_length = u16(entry + 28), extra_length = u16(entry + 30), comment_length = u16(entry + 32);
    if (pos + kEntryHeaderSize + name_length > directory.size())
      throw std::runtime_error("corrupted zip central directory");
    std::string name(entry + kEntryHeaderSize, name_length);
    const size_t slash = name.find('/');
    if (slash != std::string::npos) name = name.substr(slash + 1);
    checksums[name] = crc;
    pos += kEntryHeaderSize + name_length + extra_length + comment_length;
  }
  return checksums;
}

uint32_t crc32_of(const void* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace mltk::checkpoint
