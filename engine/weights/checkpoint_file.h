#pragma once
// What each file reader hands to WeightStore: validated tensors pointing into memory the file keeps alive.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/weights/mapped_file.h"

namespace nspbert::weights {

// Every element type the two formats can declare. Only F32/F16/BF16 become weights; F64 is
// narrowed at load, integer and bool tensors (buffers such as position_ids) are set aside.
enum class ElementType { F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, Bool };

const char* element_type_name(ElementType type);
size_t element_size(ElementType type);
bool is_float(ElementType type);
// Accepts the safetensors spelling ("F32", "I64", "BOOL", ...).
std::optional<ElementType> element_type_from_name(std::string_view name);

// Error messages quote names and values read from files: control characters (a newline would
// split the one-line message) become \xNN escapes, and overlong text is cut.
std::string one_line(std::string_view text, size_t max_bytes = 2000);

struct RawTensor {
  std::string name;  // as stored; WeightStore canonicalises
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // may be misaligned: read with memcpy
  size_t nbytes = 0;
};

struct CheckpointFile {
  std::string path;  // as given, for messages
  std::vector<RawTensor> tensors;
  std::shared_ptr<const MappedFile> mapping;
  std::vector<std::unique_ptr<std::byte[]>> owned;  // copies made for strided views
};

}  // namespace nspbert::weights
