#include "engine/weights/torch_bin_reader.h"

#include <cstring>
#include <map>

#include "engine/error.h"
#include "engine/weights/state_dict_pickle.h"
#include "engine/weights/zip_archive.h"

namespace nspbert::weights {

namespace {

constexpr size_t kMaxPickleBytes = 256u << 20;

[[noreturn]] void fail_not_zip(const std::string& file, std::span<const std::byte> bytes) {
  const bool legacy_pickle = static_cast<uint8_t>(bytes[0]) == 0x80;
  const bool legacy_tar = bytes.size() >= 262 && std::memcmp(bytes.data() + 257, "ustar", 5) == 0;
  if (legacy_pickle || legacy_tar)
    fail_model(file +
               ": legacy torch format not supported, re-save with torch >= 1.6 as "
               "torch.save(torch.load(path), path) or as model.safetensors (this file was written by torch < 1.6 or "
               "with _use_new_zipfile_serialization=False)");
  fail_model(file + ": not a torch.save zip archive (no zip signature)");
}

// torch names the archive's top folder after the file (or "archive"); data.pkl sits directly in it.
std::string archive_prefix(const ZipArchive& zip, const std::string& file) {
  std::string prefix;
  int found = 0;
  for (const auto& [name, entry] : zip.entries()) {
    const size_t slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = name.substr(0, slash + 1);
      ++found;
    }
  }
  if (found == 0) fail_model(file + ": zip archive has no <archive>/data.pkl; not a torch.save state_dict");
  if (found > 1) fail_model(file + ": zip archive has " + std::to_string(found) + " data.pkl records");
  return prefix;
}

bool is_row_major(const PickledTensor& view) {
  int64_t expected = 1;
  for (size_t d = view.size.size(); d-- > 0;) {
    if (view.size[d] != 1 && view.stride[d] != expected) return false;
    expected *= view.size[d];
  }
  return true;
}

// Gathers a strided view into row-major order, element by element (only for rare non-contiguous saves).
void gather_strided(const std::byte* base, size_t element_bytes, const PickledTensor& view, uint64_t numel,
                    std::byte* out) {
  const size_t dims = view.size.size();
  std::vector<int64_t> index(dims, 0);
  int64_t offset = 0;
  for (uint64_t n = 0; n < numel; ++n) {
    std::memcpy(out + n * element_bytes, base + static_cast<uint64_t>(offset) * element_bytes, element_bytes);
    for (size_t d = dims; d-- > 0;) {
      if (++index[d] < view.size[d]) {
        offset += view.stride[d];
        break;
      }
      offset -= (index[d] - 1) * view.stride[d];
      index[d] = 0;
    }
  }
}

}  // namespace

CheckpointFile read_torch_bin(const std::filesystem::path& path) {
  std::shared_ptr<const MappedFile> mapping = MappedFile::open(path);
  CheckpointFile result = parse_torch_bin(mapping->bytes(), path.string());
  result.mapping = std::move(mapping);
  return result;
}

// Long on purpose (~80 lines): every bound check on an untrusted archive, in the order the
// data is reached (zip, pickle, storage, view), reads as one pass; split, the checks scatter.
CheckpointFile parse_torch_bin(std::span<const std::byte> bytes, const std::string& file) {
  CheckpointFile result;
  result.path = file;
  if (bytes.empty()) fail_model(file + ": file is empty, not a pytorch_model.bin");
  if (!ZipArchive::looks_like_zip(bytes)) fail_not_zip(file, bytes);

  const ZipArchive zip(bytes, file);
  const std::string prefix = archive_prefix(zip, file);
  if (const ZipEntry* order = zip.find(prefix + "byteorder")) {
    const auto stored = zip.stored(order->name);
    if (std::string_view(reinterpret_cast<const char*>(stored.data()), stored.size()) != "little")
      fail_model(file + ": tensors were saved big-endian; only little-endian checkpoints are read");
  }
  const auto pickle = zip.stored(prefix + "data.pkl");
  if (pickle.size() > kMaxPickleBytes) fail_model(file + ": data.pkl is larger than 256 MB; not a state_dict");
  const PickledStateDict state = unpickle_state_dict(pickle, file + ": data.pkl");

  std::map<size_t, std::span<const std::byte>> storage_bytes;
  for (const PickledTensor& view : state.tensors) {
    const std::string where = file + ": tensor '" + view.name + "'";
    const PickledStorage& storage = state.storages[view.storage];
    const size_t element_bytes = element_size(storage.type);

    auto cached = storage_bytes.find(view.storage);
    if (cached == storage_bytes.end()) {
      const std::string entry = prefix + "data/" + storage.key;
      const ZipEntry* member = zip.find(entry);
      if (member == nullptr) fail_model(where + ": storage '" + entry + "' is missing from the archive");
      if (member->method != 0 || member->encrypted)
        fail_model(where + ": storage '" + entry + "' is compressed or encrypted; torch.save stores storages " +
                   "uncompressed (re-save with torch.save)");
      const auto data = member->data;
      uint64_t needed = 0;
      if (__builtin_mul_overflow(storage.numel, element_bytes, &needed) || needed > data.size())
        fail_model(where + ": storage '" + entry + "' holds " + std::to_string(data.size()) + " bytes, less than " +
                   std::to_string(storage.numel) + " " + element_type_name(storage.type) + " elements");
      cached = storage_bytes.emplace(view.storage, data).first;
    }
    const std::byte* storage_data = cached->second.data();

    RawTensor tensor;
    tensor.name = view.name;
    tensor.type = storage.type;
    tensor.shape = view.size;
    uint64_t numel = 1;
    uint64_t last = view.offset;  // highest element index the view touches
    bool overflow = false;
    for (size_t d = 0; d < view.size.size(); ++d) {
      const auto extent = static_cast<uint64_t>(view.size[d]);
      overflow |= __builtin_mul_overflow(numel, extent, &numel);
      uint64_t reach = 0;
      if (extent > 0) {
        overflow |= __builtin_mul_overflow(extent - 1, static_cast<uint64_t>(view.stride[d]), &reach);
        overflow |= __builtin_add_overflow(last, reach, &last);
      }
    }
    if (overflow) fail_model(where + ": size/stride overflow");
    if (numel == 0) {
      result.tensors.push_back(std::move(tensor));
      continue;
    }
    if (last >= storage.numel)
      fail_model(where + ": view reaches element " + std::to_string(last) + " of a storage of " +
                 std::to_string(storage.numel));
    tensor.nbytes = static_cast<size_t>(numel * element_bytes);
    const std::byte* start = storage_data + view.offset * element_bytes;
    if (is_row_major(view)) {
      tensor.data = start;
    } else {
      // Broadcast views could ask for far more memory than the file holds.
      if (numel > storage.numel)
        fail_model(where + ": strided view has more elements (" + std::to_string(numel) + ") than its storage");
      auto copy = std::make_unique<std::byte[]>(tensor.nbytes);
      gather_strided(start, element_bytes, view, numel, copy.get());
      tensor.data = copy.get();
      result.owned.push_back(std::move(copy));
    }
    result.tensors.push_back(std::move(tensor));
  }
  return result;
}

}  // namespace nspbert::weights
