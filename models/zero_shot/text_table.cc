#include "models/zero_shot/text_table.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdio>

namespace nspbert::zero_shot {

namespace {

// Calls f(codepoint, byte_length) for each character; invalid bytes count as one narrow character.
template <typename F>
void for_each_char(std::string_view text, F f) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (n <= 0) {
      cp = '?';
      n = 1;
    }
    if (!f(cp, static_cast<size_t>(n), i)) return;
    i += static_cast<size_t>(n);
  }
}

size_t char_width(utf8proc_int32_t cp) {
  if (cp < 0x20 || cp == 0x7f) return 0;
  const int w = utf8proc_charwidth(cp);
  return w < 0 ? 0 : static_cast<size_t>(w);
}

}  // namespace

size_t display_width(std::string_view text) {
  size_t width = 0;
  for_each_char(text, [&](utf8proc_int32_t cp, size_t, size_t) {
    width += char_width(cp);
    return true;
  });
  return width;
}

std::string clip_to_width(std::string_view text, size_t width) {
  if (display_width(text) <= width) return std::string(text);
  std::string out;
  size_t used = 0;
  const size_t room = width == 0 ? 0 : width - 1;  // one column for the ellipsis
  for_each_char(text, [&](utf8proc_int32_t cp, size_t n, size_t at) {
    const size_t w = char_width(cp);
    if (used + w > room) return false;
    if (cp >= 0x20 && cp != 0x7f) out.append(text.substr(at, n));
    used += w;
    return true;
  });
  if (width > 0) out += "…";
  return out;
}

std::string pad_to_width(std::string_view text, size_t width) {
  std::string out = clip_to_width(text, width);
  out.append(width - std::min(width, display_width(out)), ' ');
  return out;
}

TextTable::TextTable(std::vector<std::string> header, std::vector<bool> right_aligned)
    : right_(std::move(right_aligned)) {
  right_.resize(header.size(), false);
  rows_.push_back(std::move(header));
}

void TextTable::add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

std::string TextTable::render() const {
  size_t columns = 0;
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<size_t> width(columns, 0);
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const size_t pad = width[c] - display_width(row[c]);
      const bool right = c < right_.size() && right_[c];
      if (c) line += "  ";
      if (right) line.append(pad, ' ');
      line += row[c];
      if (!right && c + 1 < row.size()) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * fraction);
  return buf;
}

}  // namespace nspbert::zero_shot
