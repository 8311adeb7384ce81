#include "engine/similarity/summarize.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/similarity/geodesic.h"

namespace nspbert {
namespace {

// Decodes the code point at text[i]; `length` is its byte length (1 for an invalid byte).
char32_t code_point_at(std::string_view text, size_t i, size_t& length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) {
    length = 1;
    return 0xFFFD;
  }
  char32_t cp = n == 1 ? lead : lead & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      length = 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  length = n;
  return cp;
}

bool ends_sentence(char32_t c) {
  return c == U'。' || c == U'！' || c == U'？' || c == U'!' || c == U'?' || c == U'…' || c == U'\n' || c == U'\r';
}
bool closes(char32_t c) {
  return c == U'”' || c == U'’' || c == U'"' || c == U'\'' || c == U'」' || c == U'』' || c == U'）' || c == U')' ||
         c == U'】' || c == U'》';
}
bool is_space(char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\u3000'; }

std::string trimmed(std::string_view s) {
  size_t begin = 0, end = s.size(), length = 0;
  while (begin < end && is_space(code_point_at(s, begin, length))) begin += length;
  // Trailing: step back over ASCII whitespace and U+3000 (3 bytes).
  while (end > begin) {
    if (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n' || s[end - 1] == '\r') {
      --end;
    } else if (end - begin >= 3 && s.substr(end - 3, 3) == "\u3000") {
      end -= 3;
    } else {
      break;
    }
  }
  return std::string(s.substr(begin, end - begin));
}

}  // namespace

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> sentences;
  size_t start = 0, i = 0, length = 0;
  const auto emit = [&](size_t end) {
    std::string piece = trimmed(text.substr(start, end - start));
    if (!piece.empty()) sentences.push_back(std::move(piece));
    start = end;
  };
  while (i < text.size()) {
    const char32_t c = code_point_at(text, i, length);
    i += length;
    const bool dot = c == U'.';
    if (!ends_sentence(c) && !dot) continue;
    size_t end = i;
    while (end < text.size()) {
      const char32_t next = code_point_at(text, end, length);
      if (!ends_sentence(next) && next != U'.' && !closes(next)) break;
      end += length;
    }
    // "3.5" and "e.g.x" are not sentence ends; ". " and a final "." are.
    if (dot && end < text.size() && !is_space(code_point_at(text, end, length))) {
      i = end;
      continue;
    }
    emit(end);
    i = end;
  }
  emit(text.size());
  return sentences;
}

std::vector<SummaryPick> pick_nearest(const std::vector<double>& distances, int64_t count) {
  std::vector<int64_t> order = nearest_first(distances);
  std::erase_if(order, [&](int64_t i) { return !std::isfinite(distances[i]); });
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(std::max<int64_t>(count, 0))));
  std::sort(order.begin(), order.end());
  std::vector<SummaryPick> picks;
  for (int64_t i : order) picks.push_back({i, distances[i]});
  return picks;
}

}  // namespace nspbert
