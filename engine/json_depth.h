#pragma once
// nlohmann parses any nesting without recursion, but dump(), copies and comparisons recurse: a few
// hundred kB of '[' in a config, a safetensors header or a JSONL line overflowed the stack as soon
// as the value was copied or quoted in a message (found by tests/fuzz). Readers of untrusted JSON
// refuse such text before parsing it.
#include <cstddef>
#include <string_view>

namespace nspbert {

// Real inputs nest a handful of levels; this is far beyond them and far below any stack limit.
inline constexpr int kMaxJsonDepth = 100;

// True when arrays and objects in `text` nest deeper than `max_depth`. String contents are
// skipped; the text need not be valid JSON (the parser judges that).
inline bool json_nests_deeper_than(std::string_view text, int max_depth = kMaxJsonDepth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace nspbert
