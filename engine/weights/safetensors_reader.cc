#include "engine/weights/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/error.h"
#include "engine/json_depth.h"

namespace nspbert::weights {

namespace {

using nlohmann::json;

std::string without_json_prefix(const std::string& what) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; the rest is the useful part.
  const size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

// Parses the header, refusing duplicate top-level keys (nlohmann would silently keep the last).
json parse_header(const std::string& file, const char* begin, size_t length) {
  std::set<std::string> seen_keys;
  std::string duplicate;
  const json::parser_callback_t check_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && !seen_keys.insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  if (json_nests_deeper_than(std::string_view(begin, length)))
    fail_model(file + ": header is JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json header;
  try {
    header = json::parse(begin, begin + length, check_duplicates);
  } catch (const json::exception& e) {
    fail_model(file + ": header is not valid JSON: " + without_json_prefix(e.what()));
  }
  if (!header.is_object()) fail_model(file + ": header is not a JSON object but " + std::string(header.type_name()));
  if (!duplicate.empty()) fail_model(file + ": tensor '" + duplicate + "' appears twice in the header");
  return header;
}

uint64_t read_le_u64(const std::byte* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, 8);
  return value;
}

struct Entry {
  RawTensor tensor;
  uint64_t begin = 0;
  uint64_t end = 0;
};

Entry read_entry(const std::string& file, const std::string& name, const json& value, uint64_t data_bytes) {
  const std::string where = file + ": tensor '" + name + "'";
  if (!value.is_object()) fail_model(where + " entry is not a JSON object");

  const auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) fail_model(where + " has no dtype string");
  const std::string dtype = dtype_it->get<std::string>();
  const std::optional<ElementType> type = element_type_from_name(dtype);
  if (!type)
    fail_model(where + " has unsupported dtype '" + dtype + "' (supported: F32, F16, BF16, F64, integer, BOOL)");

  const auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) fail_model(where + " has no shape array");
  Entry entry;
  entry.tensor.name = name;
  entry.tensor.type = *type;
  uint64_t numel = 1;
  bool numel_overflow = false;
  for (const json& dim : *shape_it) {
    // A negative integer parses as number_integer, a non-negative one as number_unsigned.
    if (!dim.is_number_unsigned())
      fail_model(where + " has shape " + one_line(shape_it->dump(), 80) + "; dimensions must be non-negative integers");
    const uint64_t extent = dim.get<uint64_t>();
    if (extent > static_cast<uint64_t>(INT64_MAX))
      fail_model(where + " has a dimension too large: " + one_line(dim.dump(), 80));
    numel_overflow |= __builtin_mul_overflow(numel, extent, &numel);
    entry.tensor.shape.push_back(static_cast<int64_t>(extent));
  }

  const auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned())
    fail_model(where + " needs data_offsets [begin, end] of two non-negative integers");
  entry.begin = (*offsets_it)[0].get<uint64_t>();
  entry.end = (*offsets_it)[1].get<uint64_t>();
  const std::string offsets = "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
  if (entry.begin > entry.end) fail_model(where + " " + offsets + " begin after end");
  if (entry.end > data_bytes)
    fail_model(where + " " + offsets + " end past the data section (" + std::to_string(data_bytes) + " bytes)");

  uint64_t expected_bytes = 0;
  const bool too_large = numel_overflow || __builtin_mul_overflow(numel, element_size(*type), &expected_bytes);
  if (too_large || expected_bytes != entry.end - entry.begin)
    fail_model(where + " shape " + one_line(shape_it->dump(), 80) + " of " + dtype + " needs " +
               (too_large ? std::string("more than 2^64") : std::to_string(expected_bytes)) + " bytes but " + offsets +
               " span " + std::to_string(entry.end - entry.begin));
  entry.tensor.nbytes = static_cast<size_t>(expected_bytes);
  return entry;
}

void check_metadata(const std::string& file, const json& metadata) {
  if (!metadata.is_object()) fail_model(file + ": __metadata__ is not a JSON object");
  for (const auto& [key, value] : metadata.items())
    if (!value.is_string()) fail_model(file + ": __metadata__ value '" + key + "' is not a string");
}

}  // namespace

CheckpointFile read_safetensors(const std::filesystem::path& path) {
  std::shared_ptr<const MappedFile> mapping = MappedFile::open(path);
  CheckpointFile result = parse_safetensors(mapping->bytes(), path.string());
  result.mapping = std::move(mapping);
  return result;
}

CheckpointFile parse_safetensors(std::span<const std::byte> bytes, const std::string& file) {
  CheckpointFile result;
  result.path = file;

  if (bytes.empty()) fail_model(file + ": file is empty, not a safetensors file");
  if (bytes.size() < 8)
    fail_model(file + ": file is " + std::to_string(bytes.size()) +
               " bytes, too short for the 8-byte safetensors header length");
  const uint64_t header_bytes = read_le_u64(bytes.data());
  if (header_bytes > kMaxSafetensorsHeaderBytes)
    fail_model(file + ": header length " + std::to_string(header_bytes) + " exceeds the 100 MB limit (corrupt file?)");
  if (header_bytes > bytes.size() - 8)
    fail_model(file + ": header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
               std::to_string(bytes.size()) + " bytes; truncated?)");
  const uint64_t data_bytes = bytes.size() - 8 - header_bytes;
  const std::byte* data_section = bytes.data() + 8 + header_bytes;

  const json header = parse_header(file, reinterpret_cast<const char*>(bytes.data() + 8), header_bytes);
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      check_metadata(file, value);
      continue;
    }
    entries.push_back(read_entry(file, name, value, data_bytes));
  }

  // Zero-byte tensors occupy nothing, so they cannot overlap anything.
  std::vector<const Entry*> by_offset;
  for (const Entry& entry : entries)
    if (entry.end > entry.begin) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail_model(file + ": tensor '" + by_offset[i]->tensor.name + "' data_offsets [" +
                 std::to_string(by_offset[i]->begin) + ", " + std::to_string(by_offset[i]->end) + "] overlap tensor '" +
                 by_offset[i - 1]->tensor.name + "' [" + std::to_string(by_offset[i - 1]->begin) + ", " +
                 std::to_string(by_offset[i - 1]->end) + "]");

  result.tensors.reserve(entries.size());
  for (Entry& entry : entries) {
    entry.tensor.data = entry.tensor.nbytes ? data_section + entry.begin : nullptr;
    result.tensors.push_back(std::move(entry.tensor));
  }
  return result;
}

}  // namespace nspbert::weights
