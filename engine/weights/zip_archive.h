#pragma once
// The central directory of a zip archive held in memory (torch.save's container). Only what
// torch writes is supported: stored entries, optionally zip64. Entry data is not copied.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace nspbert::weights {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate, ...
  bool encrypted = false;
  std::span<const std::byte> data;  // the stored bytes; empty unless method == 0
};

class ZipArchive {
 public:
  // Throws nspbert::Error naming `file` for anything malformed or out of bounds.
  ZipArchive(std::span<const std::byte> bytes, const std::string& file);

  const ZipEntry* find(const std::string& name) const;
  const std::map<std::string, ZipEntry>& entries() const { return entries_; }
  // The stored bytes of an entry; throws naming the entry when it is missing, compressed or encrypted.
  std::span<const std::byte> stored(const std::string& name) const;

  static bool looks_like_zip(std::span<const std::byte> bytes);

 private:
  std::string file_;
  std::map<std::string, ZipEntry> entries_;
};

}  // namespace nspbert::weights
