#include "engine/weights/checkpoint_file.h"

#include <array>
#include <string>

namespace nspbert::weights {

namespace {

struct ElementTypeInfo {
  ElementType type;
  const char* name;  // safetensors spelling
  size_t size;
  bool is_float;
};

constexpr std::array<ElementTypeInfo, 13> kElementTypes = {{
    {ElementType::F32, "F32", 4, true},
    {ElementType::F16, "F16", 2, true},
    {ElementType::BF16, "BF16", 2, true},
    {ElementType::F64, "F64", 8, true},
    {ElementType::I64, "I64", 8, false},
    {ElementType::I32, "I32", 4, false},
    {ElementType::I16, "I16", 2, false},
    {ElementType::I8, "I8", 1, false},
    {ElementType::U64, "U64", 8, false},
    {ElementType::U32, "U32", 4, false},
    {ElementType::U16, "U16", 2, false},
    {ElementType::U8, "U8", 1, false},
    {ElementType::Bool, "BOOL", 1, false},
}};

const ElementTypeInfo& info(ElementType type) {
  for (const auto& entry : kElementTypes)
    if (entry.type == type) return entry;
  return kElementTypes[0];  // unreachable: every enumerator is listed
}

}  // namespace

const char* element_type_name(ElementType type) { return info(type).name; }
size_t element_size(ElementType type) { return info(type).size; }
bool is_float(ElementType type) { return info(type).is_float; }

std::string one_line(std::string_view text, size_t max_bytes) {
  std::string result;
  for (const char c : text.substr(0, max_bytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      result += c;
      continue;
    }
    static const char kHex[] = "0123456789abcdef";
    result += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
  }
  if (text.size() > max_bytes) result += "...";
  return result;
}

std::optional<ElementType> element_type_from_name(std::string_view name) {
  for (const auto& entry : kElementTypes)
    if (name == entry.name) return entry.type;
  return std::nullopt;
}

}  // namespace nspbert::weights
