#include "tokenizer/jieba.h"

#include <sys/mman.h>
#include <utf8proc.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <optional>

#include "engine/error.h"

namespace nspbert {
namespace {

constexpr char32_t kBmpEnd = 0x10000;
constexpr int kCodePointBits = 21;

// Decodes one code point; `length` 0 means an invalid byte (the caller takes it alone).
char32_t decode(std::string_view text, size_t pos, size_t& length) {
  const auto byte = static_cast<unsigned char>(text[pos]);
  if (byte < 0x80) {
    length = 1;
    return byte;
  }
  utf8proc_int32_t cp = 0;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                  static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
  length = n > 0 && cp >= 0 ? static_cast<size_t>(n) : 0;
  return length > 0 ? static_cast<char32_t>(cp) : 0xFFFD;
}

// Python's \s (str.isspace): category Zs or bidirectional class WS, B or S.
bool is_python_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F);
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

// re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]; runs of these are cut by the route.
bool is_han_block_char(char32_t cp) {
  if (cp >= 0x4E00) return cp <= 0x9FD5;
  if (cp >= 0x80) return false;
  const char c = static_cast<char>(cp);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '#' ||
         c == '&' || c == '.' || c == '_' || c == '%' || c == '-';
}

// re_eng: single ASCII letters and digits of the route are glued into one piece.
bool is_ascii_alnum(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

uint64_t edge_key(int32_t parent, char32_t cp) {
  // Root edges in the BMP live in root_bmp_, so a key is never 0.
  return (static_cast<uint64_t>(parent) << kCodePointBits) | cp;
}

// Fibonacci hashing: the top bits of the product index a table of 2^(64 - shift) slots.
size_t edge_slot(uint64_t key, int shift) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift); }

// One line of dict.txt as jieba's gen_pfdict reads it: bytes.strip(), strict UTF-8, split(' '),
// the first two fields are the word and int(freq).
struct DictLine {
  std::string_view word;
  int64_t freq = 0;
};

std::string_view strip_ascii_space(std::string_view s) {
  constexpr const char* kSpace = " \t\n\r\v\f";  // bytes.strip()
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

bool is_valid_utf8(std::string_view s) {
  for (size_t pos = 0, length = 0; pos < s.size(); pos += length) {
    decode(s, pos, length);
    if (length == 0) return false;
  }
  return true;
}

// Python's int(str) for ASCII digits: surrounding whitespace, a sign, '_' between digits.
// (Python also takes other Unicode decimal digits; no dictionary writes those.)
std::optional<int64_t> parse_python_int(std::string_view s, bool& overflow) {
  size_t begin = 0, end = s.size(), length = 0;
  while (begin < end && is_python_space(decode(s, begin, length)) && length > 0) begin += length;
  while (end > begin) {
    size_t last = end - 1;
    while (last > begin && (static_cast<unsigned char>(s[last]) & 0xC0) == 0x80) --last;
    if (!is_python_space(decode(s, last, length)) || length == 0) break;
    end = last;
  }
  s = s.substr(begin, end - begin);
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s.empty() || s.front() == '_' || s.back() == '_') return std::nullopt;
  int64_t value = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (s[i + 1] == '_') return std::nullopt;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    if (value > (std::numeric_limits<int64_t>::max() - (s[i] - '0')) / 10) overflow = true;
    if (!overflow) value = value * 10 + (s[i] - '0');
  }
  return negative ? -value : value;
}

// Dictionary lines go into one-line error messages: keep them short and free of control bytes.
std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 60)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? '?' : c;
  return s.size() > 60 ? out + "..." : out;
}

DictLine read_dict_line(std::string_view raw, size_t line_number, const std::string& name) {
  const std::string where = "jieba dictionary " + name + " line " + std::to_string(line_number);
  const std::string_view line = strip_ascii_space(raw);
  if (!is_valid_utf8(line)) fail_model(where + " is not valid UTF-8");
  if (line.empty()) fail_model(where + " is empty (expected 'word frequency [tag]')");
  const size_t space = line.find(' ');
  if (space == std::string_view::npos)
    fail_model(where + ": '" + printable(line) + "' has no frequency (expected 'word frequency [tag]')");
  const std::string_view word = line.substr(0, space);
  const std::string_view rest = line.substr(space + 1);
  const std::string_view freq_text = rest.substr(0, rest.find(' '));
  bool overflow = false;
  const std::optional<int64_t> freq = parse_python_int(freq_text, overflow);
  if (!freq)
    fail_model(where + ": the frequency '" + printable(freq_text) + "' of '" + printable(word) + "' is not an integer");
  if (overflow) fail_model(where + ": the frequency of '" + printable(word) + "' is too large");
  if (*freq < 0) fail_model(where + ": the frequency of '" + printable(word) + "' is negative");
  return {word, *freq};
}

}  // namespace

template <typename T>
T* HugePageAllocator<T>::allocate(size_t n) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t bytes = n * sizeof(T);
  void* memory = bytes < kHugePage ? std::malloc(bytes)
                                   : std::aligned_alloc(kHugePage, (bytes + kHugePage - 1) / kHugePage * kHugePage);
  if (memory == nullptr) throw std::bad_alloc();
  if (bytes >= kHugePage) madvise(memory, bytes, MADV_HUGEPAGE);  // advice only: no error to handle
  return static_cast<T*>(memory);
}

int32_t JiebaDictionary::child(int32_t node, char32_t cp) const {
  if (node == kRoot && cp < kBmpEnd) return root_bmp_[cp];
  const uint64_t key = edge_key(node, cp);
  const size_t mask = edges_.size() - 1;
  for (size_t slot = edge_slot(key, shift_);; slot = (slot + 1) & mask) {
    const Edge& edge = edges_[slot];
    if (edge.key == key) return edge.child;
    if (edge.key == 0) return kNoNode;
  }
}

void JiebaDictionary::grow_table(size_t capacity) {
  auto old = std::move(edges_);
  edges_.assign(std::bit_ceil(std::max<size_t>(1024, capacity)), Edge{});
  shift_ = 64 - std::countr_zero(edges_.size());
  const size_t mask = edges_.size() - 1;
  for (const Edge& edge : old) {
    if (edge.key == 0) continue;
    size_t slot = edge_slot(edge.key, shift_);
    while (edges_[slot].key != 0) slot = (slot + 1) & mask;
    edges_[slot] = edge;
  }
}

int32_t JiebaDictionary::add_child(int32_t node, char32_t cp) {
  const auto id = static_cast<int32_t>(log_weight_.size());
  log_weight_.push_back(0);
  is_word_.push_back(0);
  if (node == kRoot && cp < kBmpEnd) return root_bmp_[cp] = id;
  if ((edge_count_ + 1) * 2 > edges_.size()) grow_table(edges_.size() * 2);  // load factor <= 1/2
  const uint64_t key = edge_key(node, cp);
  const size_t mask = edges_.size() - 1;
  size_t slot = edge_slot(key, shift_);
  while (edges_[slot].key != 0) slot = (slot + 1) & mask;
  edges_[slot] = Edge{key, id};
  ++edge_count_;
  return id;
}

std::shared_ptr<const JiebaDictionary> JiebaDictionary::parse(std::string_view text, const std::string& name) {
  auto dictionary = std::make_shared<JiebaDictionary>();
  JiebaDictionary& d = *dictionary;
  d.source_ = name;
  d.root_bmp_.assign(kBmpEnd, kNoNode);
  // Sized for jieba's dict.txt, about 1.4 trie edges per word, so that loading it never rehashes.
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  d.grow_table(lines * 14 / 10 * 2);
  d.log_weight_.reserve(lines * 3 / 2);
  d.is_word_.reserve(lines * 3 / 2);
  d.log_weight_.push_back(0);  // the root
  d.is_word_.push_back(0);
  std::vector<int64_t> freq{0};
  freq.reserve(lines * 3 / 2);
  int64_t total = 0;
  size_t line_number = 0;
  // The trie path of the previous word, (byte end, node) per character: dict.txt is nearly sorted,
  // so a word shares most of its prefix with the one before and needs no lookups for that part.
  std::vector<std::pair<size_t, int32_t>> path;
  std::string_view previous;
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = std::min(text.find('\n', pos), text.size());
    const DictLine line = read_dict_line(text.substr(pos, newline - pos), ++line_number, name);
    pos = newline + 1;
    const auto common = static_cast<size_t>(
        std::mismatch(previous.begin(), previous.end(), line.word.begin(), line.word.end()).first - previous.begin());
    while (!path.empty() && path.back().first > common) path.pop_back();
    int32_t node = path.empty() ? kRoot : path.back().second;
    for (size_t i = path.empty() ? 0 : path.back().first, length = 0; i < line.word.size(); i += length) {
      const char32_t cp = decode(line.word, i, length);
      const int32_t next = d.child(node, cp);
      node = next != kNoNode ? next : d.add_child(node, cp);
      if (freq.size() < d.log_weight_.size()) freq.push_back(0);  // a new prefix: frequency 0
      path.emplace_back(i + length, node);
    }
    previous = line.word;
    freq[static_cast<size_t>(node)] = line.freq;  // a later duplicate wins, as in the dict
    if (__builtin_add_overflow(total, line.freq, &total))
      fail_model("jieba dictionary " + name + ": the frequencies add up past 2^63");
  }
  if (line_number == 0) fail_model("jieba dictionary " + name + " is empty");
  if (total <= 0) fail_model("jieba dictionary " + name + " has no word with a positive frequency");
  d.log_total_ = std::log(static_cast<double>(total));
  for (size_t node = 0; node < freq.size(); ++node) {
    // The same expression as jieba's calc: log(FREQ.get(word) or 1) - logtotal.
    d.log_weight_[node] = std::log(static_cast<double>(freq[node] > 0 ? freq[node] : 1)) - d.log_total_;
    d.is_word_[node] = freq[node] > 0;
    d.words_ += freq[node] > 0;
  }
  return dictionary;
}

std::shared_ptr<const JiebaDictionary> JiebaDictionary::load(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) fail_model("jieba dictionary " + file.string() + " is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_model("cannot read jieba dictionary " + file.string() + ": " + std::strerror(errno));
  std::string text;
  in.seekg(0, std::ios::end);
  text.resize(static_cast<size_t>(std::max<std::streamoff>(0, in.tellg())));
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in) fail_model("error while reading jieba dictionary " + file.string());
  return parse(text, file.string());
}

namespace {

// __cut_DAG_NO_HMM over one block of re_han characters: the best route right to left, then the
// route's pieces, consecutive single ASCII letters/digits glued together.
class BlockCutter {
 public:
  explicit BlockCutter(const JiebaDictionary& dictionary) : d_(dictionary) {}

  // `starts` holds the byte offset of every character and then the block's end.
  void cut(const std::vector<char32_t>& cps, const std::vector<size_t>& starts, std::vector<TextSpan>& out) {
    route(cps);
    const size_t n = cps.size();
    size_t glued_from = n;  // n: nothing glued
    for (size_t x = 0; x < n;) {
      const size_t y = route_end_[x] + 1;
      if (y - x == 1 && is_ascii_alnum(cps[x])) {
        if (glued_from == n) glued_from = x;
      } else {
        if (glued_from != n) out.push_back({starts[glued_from], starts[x]});
        glued_from = n;
        out.push_back({starts[x], starts[y]});
      }
      x = y;
    }
    if (glued_from != n) out.push_back({starts[glued_from], starts[n]});
  }

 private:
  // jieba's calc: route[idx] = max((log_weight(word idx..x) + route[x+1][0], x) for x in DAG[idx]),
  // the DAG walked here from idx; tuples compare the score, then the larger x wins a tie.
  void route(const std::vector<char32_t>& cps) {
    const size_t n = cps.size();
    route_score_.assign(n + 1, 0.0);
    route_end_.assign(n + 1, 0);
    for (size_t idx = n; idx-- > 0;) {
      bool found = false;
      double best = 0;
      size_t best_end = idx;
      int32_t node = JiebaDictionary::kRoot;
      for (size_t x = idx; x < n; ++x) {
        node = d_.child(node, cps[x]);
        if (node == JiebaDictionary::kNoNode) break;
        if (!d_.is_word(node)) continue;
        const double score = d_.log_weight(node) + route_score_[x + 1];
        if (!found || score >= best) best = score, best_end = x, found = true;
      }
      // No word starts here: the character alone, with frequency 1 (log 1 = 0).
      if (!found) best = (0.0 - d_.log_total()) + route_score_[idx + 1];
      route_score_[idx] = best;
      route_end_[idx] = best_end;
    }
  }

  const JiebaDictionary& d_;
  std::vector<double> route_score_;
  std::vector<size_t> route_end_;
};

}  // namespace

void jieba_cut(const JiebaDictionary& dictionary, std::string_view text, std::vector<TextSpan>& out) {
  BlockCutter cutter(dictionary);
  std::vector<char32_t> cps;
  std::vector<size_t> starts;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    char32_t cp = decode(text, pos, length);
    if (length == 0 || !is_han_block_char(cp)) {
      // Outside blocks: "\r\n" and every other character are pieces of their own.
      const bool crlf = cp == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n';
      const size_t end = pos + (crlf ? 2 : std::max<size_t>(length, 1));
      out.push_back({pos, end});
      pos = end;
      continue;
    }
    cps.clear();
    starts.clear();
    while (length > 0 && is_han_block_char(cp)) {
      cps.push_back(cp);
      starts.push_back(pos);
      pos += length;
      if (pos == text.size()) break;
      cp = decode(text, pos, length);
    }
    starts.push_back(pos);
    cutter.cut(cps, starts, out);
  }
}

}  // namespace nspbert
