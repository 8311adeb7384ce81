#include "engine/weights/zip_archive.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"

namespace nspbert::weights {

namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfDirectorySignature = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectorySignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kEndOfDirectoryBytes = 22;
constexpr size_t kZip64LocatorBytes = 20;
constexpr size_t kZip64EndOfDirectoryBytes = 56;
constexpr size_t kCentralHeaderBytes = 46;
constexpr size_t kLocalHeaderBytes = 30;

// Bounds-checked little-endian reads over the archive; every failure is one message.
class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  template <typename T>
  T at(uint64_t offset, const char* what) const {
    require(offset, sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }
  void require(uint64_t offset, uint64_t length, const char* what) const {
    if (offset > bytes_.size() || length > bytes_.size() - offset)
      fail_model(file_ + ": zip " + what + " lies past the end of the file (truncated?)");
  }
  std::span<const std::byte> slice(uint64_t offset, uint64_t length, const char* what) const {
    require(offset, length, what);
    return bytes_.subspan(offset, length);
  }
  size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  const std::string& file_;
};

struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

Directory find_directory(const Reader& in, const std::string& file) {
  // The end record sits in the last 22 + 65535 (maximum comment) bytes.
  if (in.size() < kEndOfDirectoryBytes) fail_model(file + ": too short to be a zip archive (truncated?)");
  const uint64_t lowest = in.size() > kEndOfDirectoryBytes + 0xffff ? in.size() - kEndOfDirectoryBytes - 0xffff : 0;
  uint64_t end_record = in.size() - kEndOfDirectoryBytes;
  while (in.at<uint32_t>(end_record, "end record") != kEndOfDirectorySignature) {
    if (end_record == lowest)
      fail_model(file + ": no zip end-of-central-directory record (truncated or not a torch.save file)");
    --end_record;
  }
  Directory dir;
  dir.entries = in.at<uint16_t>(end_record + 10, "end record");
  dir.size = in.at<uint32_t>(end_record + 12, "end record");
  dir.offset = in.at<uint32_t>(end_record + 16, "end record");
  if (in.at<uint16_t>(end_record + 4, "end record") != 0 || in.at<uint16_t>(end_record + 6, "end record") != 0)
    fail_model(file + ": multi-part zip archives are not supported");

  const bool wants_zip64 = dir.entries == 0xffff || dir.size == 0xffffffff || dir.offset == 0xffffffff;
  if (end_record >= kZip64LocatorBytes &&
      in.at<uint32_t>(end_record - kZip64LocatorBytes, "zip64 locator") == kZip64LocatorSignature) {
    const uint64_t record = in.at<uint64_t>(end_record - kZip64LocatorBytes + 8, "zip64 locator");
    in.require(record, kZip64EndOfDirectoryBytes, "zip64 end record");
    if (in.at<uint32_t>(record, "zip64 end record") != kZip64EndOfDirectorySignature)
      fail_model(file + ": zip64 locator points at no zip64 end record");
    dir.entries = in.at<uint64_t>(record + 32, "zip64 end record");
    dir.size = in.at<uint64_t>(record + 40, "zip64 end record");
    dir.offset = in.at<uint64_t>(record + 48, "zip64 end record");
  } else if (wants_zip64) {
    fail_model(file + ": zip end record needs zip64 fields but has no zip64 locator");
  }
  in.require(dir.offset, dir.size, "central directory");
  // Each entry takes at least 46 bytes: a count beyond that is corrupt, and bounds the loop.
  if (dir.entries > dir.size / kCentralHeaderBytes)
    fail_model(file + ": zip central directory claims " + std::to_string(dir.entries) + " entries in " +
               std::to_string(dir.size) + " bytes");
  return dir;
}

// Replaces 0xffffffff fields by their zip64 extra values, in the order the format fixes.
void apply_zip64_extra(std::span<const std::byte> extra, uint64_t& uncompressed, uint64_t& compressed,
                       uint64_t& local_offset, const std::string& where) {
  size_t pos = 0;
  while (pos + 4 <= extra.size()) {
    uint16_t id, length;
    std::memcpy(&id, extra.data() + pos, 2);
    std::memcpy(&length, extra.data() + pos + 2, 2);
    pos += 4;
    if (length > extra.size() - pos) fail_model(where + " has a malformed extra field");
    if (id == kZip64ExtraId) {
      size_t field = pos;
      const size_t field_end = pos + length;
      for (uint64_t* value : {&uncompressed, &compressed, &local_offset}) {
        if (*value != 0xffffffff) continue;
        if (field + 8 > field_end) fail_model(where + " has a truncated zip64 extra field");
        std::memcpy(value, extra.data() + field, 8);
        field += 8;
      }
    }
    pos += length;
  }
}

}  // namespace

bool ZipArchive::looks_like_zip(std::span<const std::byte> bytes) {
  uint32_t signature = 0;
  if (bytes.size() < 4) return false;
  std::memcpy(&signature, bytes.data(), 4);
  return signature == kLocalHeaderSignature;
}

ZipArchive::ZipArchive(std::span<const std::byte> bytes, const std::string& file) : file_(file) {
  const Reader in(bytes, file);
  const Directory dir = find_directory(in, file);

  uint64_t pos = dir.offset;
  const uint64_t directory_end = dir.offset + dir.size;
  for (uint64_t index = 0; index < dir.entries; ++index) {
    if (directory_end - pos < kCentralHeaderBytes ||
        in.at<uint32_t>(pos, "central directory") != kCentralHeaderSignature)
      fail_model(file + ": zip central directory entry " + std::to_string(index) + " is malformed");
    const uint16_t flags = in.at<uint16_t>(pos + 8, "central directory");
    const uint16_t method = in.at<uint16_t>(pos + 10, "central directory");
    uint64_t compressed = in.at<uint32_t>(pos + 20, "central directory");
    uint64_t uncompressed = in.at<uint32_t>(pos + 24, "central directory");
    const uint16_t name_length = in.at<uint16_t>(pos + 28, "central directory");
    const uint16_t extra_length = in.at<uint16_t>(pos + 30, "central directory");
    const uint16_t comment_length = in.at<uint16_t>(pos + 32, "central directory");
    uint64_t local_offset = in.at<uint32_t>(pos + 42, "central directory");
    const uint64_t record_bytes = kCentralHeaderBytes + name_length + extra_length + comment_length;
    if (record_bytes > directory_end - pos)
      fail_model(file + ": zip central directory entry " + std::to_string(index) + " runs past the directory");
    const auto name_bytes = in.slice(pos + kCentralHeaderBytes, name_length, "entry name");
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size());
    const std::string where = file + ": zip entry '" + entry.name + "'";
    apply_zip64_extra(in.slice(pos + kCentralHeaderBytes + name_length, extra_length, "extra field"), uncompressed,
                      compressed, local_offset, where);
    pos += record_bytes;

    entry.method = method;
    entry.encrypted = (flags & 1u) != 0;
    if (method == 0 && !entry.encrypted) {
      if (compressed != uncompressed) fail_model(where + " is stored but its sizes differ");
      // The local header repeats name and extra with its own lengths (torch pads data to 64 bytes there).
      in.require(local_offset, kLocalHeaderBytes, "local header");
      if (in.at<uint32_t>(local_offset, "local header") != kLocalHeaderSignature)
        fail_model(where + " has no local header at offset " + std::to_string(local_offset));
      const uint64_t data_offset = local_offset + kLocalHeaderBytes +
                                   in.at<uint16_t>(local_offset + 26, "local header") +
                                   in.at<uint16_t>(local_offset + 28, "local header");
      if (data_offset > in.size() || compressed > in.size() - data_offset)
        fail_model(where + " data (" + std::to_string(compressed) +
                   " bytes) lies past the end of the file (truncated?)");
      entry.data = bytes.subspan(data_offset, compressed);
    }
    const std::string name = entry.name;
    if (!entries_.emplace(name, std::move(entry)).second) fail_model(file + ": zip entry '" + name + "' appears twice");
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::span<const std::byte> ZipArchive::stored(const std::string& name) const {
  const ZipEntry* entry = find(name);
  if (entry == nullptr) fail_model(file_ + ": zip entry '" + name + "' is missing");
  if (entry->encrypted) fail_model(file_ + ": zip entry '" + name + "' is encrypted");
  if (entry->method != 0)
    fail_model(file_ + ": zip entry '" + name + "' is compressed (method " + std::to_string(entry->method) +
               "); only stored entries are read, as torch.save writes them (re-save with torch.save)");
  return entry->data;
}

}  // namespace nspbert::weights
