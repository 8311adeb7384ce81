#pragma once
// A read-only private mapping of a whole file; an empty file maps to an empty span.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace nspbert::weights {

class MappedFile {
 public:
  // Throws nspbert::Error (model) naming the path when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  // Drops the resident pages wholly inside [begin, begin + n) once their bytes have been copied
  // out: the private read-only mapping faults them back in from the file if read again, so this
  // only lowers peak memory. Ranges outside the mapping are ignored.
  void release(const std::byte* begin, size_t n) const;
  size_t size() const { return size_; }

 private:
  MappedFile(const std::byte* data, size_t size) : data_(data), size_(size) {}
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace nspbert::weights
