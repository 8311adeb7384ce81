#pragma once
// A UTF-8 byte-order mark (Windows editors write one) at the start of a text file is not part of
// its first line: every reader of text files strips it the same way.
#include <string>

namespace nspbert::io {

inline void strip_byte_order_mark(std::string& first_line) {
  if (first_line.starts_with("\xEF\xBB\xBF")) first_line.erase(0, 3);
}

}  // namespace nspbert::io
