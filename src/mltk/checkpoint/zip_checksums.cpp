#include "mltk/checkpoint/zip_checksums.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
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
uint64_t u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

constexpr uint32_t kZip64Marker = 0xFFFFFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;

// A record over 4 GiB keeps its size in the zip64 extra field, whose first value is the
// uncompressed size when the directory entry holds the marker.
uint64_t zip64_uncompressed_size(const char* extra, size_t length) {
  for (size_t pos = 0; pos + 4 <= length;) {
    const uint16_t id = u16(extra + pos), size = u16(extra + pos + 2);
    if (pos + 4 + size > length) break;
    if (id == kZip64ExtraId && size >= 8) return u64(extra + pos + 4);
    pos += 4 + size;
  }
  throw std::runtime_error("corrupted zip central directory (zip64 record without its size)");
}

}  // namespace

std::map<std::string, ZipRecord> read_zip_records(const std::string& path) {
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
  std::map<std::string, ZipRecord> records;
  if (directory_offset == kZip64Marker || directory_size == kZip64Marker) return records;  // zip64: not verified
  if (static_cast<std::streamoff>(directory_offset) + directory_size > file_size)
    throw std::runtime_error("zip central directory points past the end of the file (truncated?)");
  std::vector<char> directory(directory_size);
  in.seekg(directory_offset);
  in.read(directory.data(), directory_size);
  for (size_t pos = 0; pos + kEntryHeaderSize <= directory.size();) {
    const char* entry = &directory[pos];
    if (u32(entry) != kCentralDirectoryEntry) throw std::runtime_error("corrupted zip central directory");
    ZipRecord record;
    record.crc32 = u32(entry + 16);
    record.size = u32(entry + 24);
    const size_t name_length = u16(entry + 28), extra_length = u16(entry + 30), comment_length = u16(entry + 32);
    if (pos + kEntryHeaderSize + name_length + extra_length > directory.size())
      throw std::runtime_error("corrupted zip central directory");
    std::string name(entry + kEntryHeaderSize, name_length);
    if (record.size == kZip64Marker)
      record.size = zip64_uncompressed_size(entry + kEntryHeaderSize + name_length, extra_length);
    const size_t slash = name.find('/');
    if (slash != std::string::npos) name = name.substr(slash + 1);
    records[name] = record;
    pos += kEntryHeaderSize + name_length + extra_length + comment_length;
  }
  return records;
}

namespace {

uint32_t sequential_crc32(const Bytef* bytes, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {  // zlib takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// Below this, starting a thread costs more than sharing the work saves.
constexpr size_t kBytesPerThread = size_t{1} << 20;

}  // namespace

uint32_t crc32_of(const void* data, size_t size) {
  // A checkpoint's large records (hundreds of megabytes for VGG and ViT) are checked on every core:
  // each computes the CRC-32 of one part, and zlib's crc32_combine joins them in order.
  const auto* bytes = static_cast<const Bytef*>(data);
  const size_t parts = std::min<size_t>({std::max(1u, std::thread::hardware_concurrency()), 8,
                                         std::max<size_t>(1, size / kBytesPerThread)});
  if (parts == 1) return sequential_crc32(bytes, size);
  const size_t part_size = size / parts;
  const auto length_of = [&](size_t part) { return part + 1 == parts ? size - part * part_size : part_size; };
  std::vector<uint32_t> crcs(parts);
  std::vector<std::thread> threads;
  for (size_t part = 1; part < parts; ++part) {
    threads.emplace_back([&crcs, bytes, part, part_size, length = length_of(part)] {
      crcs[part] = sequential_crc32(bytes + part * part_size, length);
    });
  }
  crcs[0] = sequential_crc32(bytes, part_size);
  for (auto& thread : threads) thread.join();
  uLong crc = crcs[0];
  for (size_t part = 1; part < parts; ++part) crc = crc32_combine(crc, crcs[part], static_cast<z_off_t>(length_of(part)));
  return static_cast<uint32_t>(crc);
}

}  // namespace mltk::checkpoint
