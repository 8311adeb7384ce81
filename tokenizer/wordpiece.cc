#include "tokenizer/wordpiece.h"

#include <utf8proc.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>

#include "engine/error.h"
#include "engine/io/byte_order_mark.h"

namespace nspbert {
namespace {

constexpr int32_t kReplacementChar = 0xFFFD;
constexpr utf8proc_uint16_t kNoSequence = UINT16_MAX;  // utf8proc's "no mapping" marker
// The character tests below decide ASCII by code point alone and ignore the category.
constexpr utf8proc_propval_t kAsciiCategory = UTF8PROC_CATEGORY_CN;

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks, not all of CJK (no kana, hangul
// or full-width forms), exactly as the original tokenizer defines them.
bool is_chinese_char(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// BERT counts every non-alphanumeric printable ASCII character as punctuation ("$", "^", "`").
bool is_punctuation(int32_t cp, utf8proc_propval_t category) {
  if (cp < 0x80) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  }
  return category >= UTF8PROC_CATEGORY_PC && category <= UTF8PROC_CATEGORY_PO;  // P* are numbered contiguously
}

// _is_control: Cc and Cf, except \t \n \r which count as whitespace. Cleaning also drops NUL
// and U+FFFD (which is what invalid UTF-8 decodes to).
bool is_dropped_by_cleaning(int32_t cp, utf8proc_propval_t category) {
  if (cp < 0x80) return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F;
  return cp == kReplacementChar || category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_CF;
}

// _is_whitespace (space, \t \n \r, Zs), plus what Python's str.split() also splits on once
// cleaning has run: the line and paragraph separators and the C0/C1 separators.
bool is_whitespace(int32_t cp, utf8proc_propval_t category) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F);
  return cp == 0x85 || category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

// Python's str.lower() turns a capital sigma into the final form at the end of a word (the
// Final_Sigma context), so lower-casing needs Unicode's Cased and Case_Ignorable properties.
bool is_cased(int32_t cp, const utf8proc_property_t& property) {
  const auto category = property.category;
  // Beyond Lu/Ll/Lt, Other_Lowercase/Other_Uppercase: case-mapped symbols such as circled
  // letters, and the two ordinal indicators, the only ones without a mapping.
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL || category == UTF8PROC_CATEGORY_LT ||
         property.lowercase_seqindex != kNoSequence || property.uppercase_seqindex != kNoSequence || cp == 0xAA ||
         cp == 0xBA;
}

bool is_case_ignorable(int32_t cp, utf8proc_propval_t category) {
  if (cp < 0x80) return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`';  // Mid*, Sk
  switch (category) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: break;
  }
  // Word_Break MidLetter, MidNumLet and Single_Quote.
  switch (cp) {
    case 0xB7:
    case 0x387:
    case 0x55F:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A: return true;
    default: return false;
  }
}

bool has_canonical_decomposition(int32_t cp, const utf8proc_property_t& property) {
  constexpr int32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;  // decomposed algorithmically
  return (property.decomp_seqindex != kNoSequence && property.decomp_type == 0) ||
         (cp >= kHangulFirst && cp <= kHangulLast);
}

// Decodes one code point; invalid UTF-8 becomes U+FFFD and consumes one byte.
int32_t next_code_point(std::string_view text, size_t& pos) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  if (bytes[pos] < 0x80) return bytes[pos++];
  utf8proc_int32_t cp = 0;
  const utf8proc_ssize_t length = utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
  if (length <= 0 || cp < 0) {
    ++pos;
    return kReplacementChar;
  }
  pos += static_cast<size_t>(length);
  return cp;
}

void append_utf8(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
    return;
  }
  utf8proc_uint8_t buffer[4];
  const auto length = utf8proc_encode_char(cp, buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
}

// Runs BERT's BasicTokenizer over the input one code point at a time and hands each finished
// word (delimited by whitespace, CJK ideographs and punctuation, already normalised) to `emit`.
// Each non-ASCII character costs one utf8proc property lookup on the common path.
template <typename Emit>
class BasicTokenizer {
 public:
  using WordChar = WordPieceTokenizer::WordChar;

  BasicTokenizer(const BertNormalization& normalization, Emit emit)
      : normalization_(normalization), strip_accents_(normalization.strips_accents()), emit_(std::move(emit)) {}

  void run(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t begin = pos;
      const int32_t cp = next_code_point(text, pos);
      if (cp < 0x80) {
        add_ascii(cp, begin, pos);
        continue;
      }
      const utf8proc_property_t& property = *utf8proc_get_property(cp);
      if (normalization_.handle_chinese_chars && is_chinese_char(cp)) {
        end_whitespace_token();
        add_normalized(cp, property, begin, pos, text);
        end_whitespace_token();
      } else if (normalization_.clean_text && is_dropped_by_cleaning(cp, property.category)) {
        continue;
      } else if (is_whitespace(cp, property.category)) {
        end_whitespace_token();
      } else {
        add_normalized(cp, property, begin, pos, text);
      }
    }
    end_whitespace_token();
  }

 private:
  void emit_word() {
    if (!chars_.empty()) emit_(std::string_view(word_), chars_);
    word_.clear();
    chars_.clear();
  }

  // Lower-casing sees whole whitespace-delimited tokens; punctuation is split only afterwards.
  void end_whitespace_token() {
    emit_word();
    previous_is_cased_ = false;
  }

  void add_ascii(int32_t cp, size_t begin, size_t end) {
    if (normalization_.clean_text && is_dropped_by_cleaning(cp, kAsciiCategory)) return;
    if (is_whitespace(cp, kAsciiCategory)) return end_whitespace_token();
    if (normalization_.lowercase) {
      if (!is_case_ignorable(cp, kAsciiCategory)) previous_is_cased_ = (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
      if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    }
    add_char(cp, kAsciiCategory, begin, end);
  }

  void add_normalized(int32_t cp, const utf8proc_property_t& property, size_t begin, size_t end,
                      std::string_view text) {
    if (!normalization_.lowercase) return add_maybe_stripped(cp, property, begin, end);
    if (cp == 0x130) {
      // Python lowers "İ" to "i" + U+0307 COMBINING DOT ABOVE.
      add_maybe_stripped('i', *utf8proc_get_property('i'), begin, end);
      add_maybe_stripped(0x307, *utf8proc_get_property(0x307), begin, end);
    } else if (cp == 0x3A3) {
      const int32_t sigma = previous_is_cased_ && !followed_by_cased(text, end) ? 0x3C2 : 0x3C3;
      add_maybe_stripped(sigma, *utf8proc_get_property(sigma), begin, end);
    } else if (property.lowercase_seqindex != kNoSequence) {
      const int32_t lower = utf8proc_tolower(cp);
      add_maybe_stripped(lower, *utf8proc_get_property(lower), begin, end);
    } else {
      add_maybe_stripped(cp, property, begin, end);
    }
    if (!is_case_ignorable(cp, property.category)) previous_is_cased_ = is_cased(cp, property);
  }

  // The rest of the Final_Sigma test: no cased letter follows within the same token.
  bool followed_by_cased(std::string_view text, size_t pos) const {
    while (pos < text.size()) {
      const int32_t cp = next_code_point(text, pos);
      const utf8proc_property_t& property = *utf8proc_get_property(cp);
      if (normalization_.clean_text && is_dropped_by_cleaning(cp, property.category)) continue;
      if (is_whitespace(cp, property.category) || (normalization_.handle_chinese_chars && is_chinese_char(cp))) {
        return false;
      }
      if (!is_case_ignorable(cp, property.category)) return is_cased(cp, property);
    }
    return false;
  }

  // NFD, then drop non-spacing marks (BERT's _run_strip_accents). Canonical reordering is
  // skipped: it only permutes combining marks, and those are dropped here.
  void add_maybe_stripped(int32_t cp, const utf8proc_property_t& property, size_t begin, size_t end) {
    if (!strip_accents_) return add_char(cp, property.category, begin, end);
    if (property.category == UTF8PROC_CATEGORY_MN) return;
    if (!has_canonical_decomposition(cp, property)) return add_char(cp, property.category, begin, end);
    constexpr utf8proc_ssize_t kCapacity = 8;  // canonical decompositions are at most 4 long
    utf8proc_int32_t decomposed[kCapacity];
    int boundclass = 0;
    const auto count = utf8proc_decompose_char(cp, decomposed, kCapacity, UTF8PROC_DECOMPOSE, &boundclass);
    if (count <= 0 || count > kCapacity) return add_char(cp, property.category, begin, end);
    for (utf8proc_ssize_t i = 0; i < count; ++i) {
      const auto category = utf8proc_category(decomposed[i]);
      if (category != UTF8PROC_CATEGORY_MN) add_char(decomposed[i], category, begin, end);
    }
  }

  void add_char(int32_t cp, utf8proc_propval_t category, size_t begin, size_t end) {
    const bool punctuation = is_punctuation(cp, category);
    if (punctuation) emit_word();
    append_utf8(word_, cp);
    chars_.push_back(WordChar{word_.size(), begin, end});
    if (punctuation) emit_word();
  }

  const BertNormalization& normalization_;
  const bool strip_accents_;
  Emit emit_;
  std::string word_;
  std::vector<WordChar> chars_;
  bool previous_is_cased_ = false;
};

uint64_t hash_bytes(std::string_view key) {
  uint64_t hash = 0x9E3779B97F4A7C15ull ^ key.size();
  const char* data = key.data();
  size_t left = key.size();
  for (; left >= 8; data += 8, left -= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    hash = (hash ^ word) * 0xBF58476D1CE4E5B9ull;
    hash ^= hash >> 31;
  }
  if (left > 0) {
    uint64_t word = 0;
    std::memcpy(&word, data, left);
    hash = (hash ^ word) * 0x94D049BB133111EBull;
    hash ^= hash >> 29;
  }
  hash *= 0xD6E8FEB86659FD93ull;
  return hash ^ (hash >> 32);
}

}  // namespace

void PieceTable::build(const std::vector<std::pair<std::string_view, int32_t>>& entries) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, entries.size() * 2));  // load factor <= 1/2
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  longest_key_ = 0;
  // Named copies, not a structured binding: clang 14 (the sanitizer/fuzz compiler) cannot capture
  // structured bindings in a lambda.
  for (const auto& entry : entries) {
    const std::string_view key = entry.first;
    const int32_t id = entry.second;
    const uint64_t hash = hash_bytes(key);
    const auto holds_other_key = [&](const Slot& slot) {
      return slot.id >= 0 && !(slot.hash == hash && std::string_view(slot.data, slot.size) == key);
    };
    size_t index = hash & mask_;
    while (holds_other_key(slots_[index])) index = (index + 1) & mask_;
    slots_[index] = Slot{hash, key.data(), static_cast<uint32_t>(key.size()), id};
    longest_key_ = std::max(longest_key_, key.size());
  }
}

int32_t PieceTable::find(std::string_view key) const {
  if (slots_.empty()) return -1;
  const uint64_t hash = hash_bytes(key);
  for (size_t index = hash & mask_; slots_[index].id >= 0; index = (index + 1) & mask_) {
    const Slot& slot = slots_[index];
    if (slot.hash == hash && slot.size == key.size() && std::memcmp(slot.data, key.data(), key.size()) == 0) {
      return slot.id;
    }
  }
  return -1;
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, BertNormalization normalization,
                                       SpecialTokenNames names)
    : vocab_(std::move(vocab)), normalization_(normalization) {
  std::vector<std::pair<std::string_view, int32_t>> starts, continuations;
  starts.reserve(vocab_.size());
  for (size_t id = 0; id < vocab_.size(); ++id) {
    const std::string_view token = vocab_[id];
    if (token.starts_with("##")) {
      continuations.emplace_back(token.substr(2), static_cast<int32_t>(id));
    } else {
      starts.emplace_back(token, static_cast<int32_t>(id));
    }
  }
  word_starts_.build(starts);
  continuations_.build(continuations);
  bmp_char_ids_.assign(0x10000, -1);
  for (const auto& [token, id] : starts) {
    if (token.empty() || token.size() > 3) continue;
    size_t end = 0;
    const int32_t cp = next_code_point(token, end);
    const bool decoded = cp != kReplacementChar || token == "\uFFFD";  // not a stray byte
    if (end == token.size() && cp < 0x10000 && decoded) bmp_char_ids_[static_cast<size_t>(cp)] = id;
  }
  const auto lookup = [this](const std::string& name) { return id_of(name).value_or(-1); };
  special_ = {lookup(names.cls), lookup(names.sep), lookup(names.pad), lookup(names.unk), lookup(names.mask)};
  if (special_.unk < 0) fail_model("the vocabulary has no unknown token \"" + names.unk + "\"");
  unk_text_ = names.unk;
}

std::vector<std::string> WordPieceTokenizer::read_vocab(const std::filesystem::path& vocab_txt) {
  std::ifstream in(vocab_txt, std::ios::binary);
  if (!in) fail_model("cannot read vocabulary " + vocab_txt.string());
  std::vector<std::string> vocab;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (vocab.empty()) io::strip_byte_order_mark(line);
    vocab.push_back(line);
  }
  if (in.bad()) fail_model("error while reading vocabulary " + vocab_txt.string());
  if (vocab.empty()) fail_model("vocabulary " + vocab_txt.string() + " is empty");
  return vocab;
}

std::optional<int32_t> WordPieceTokenizer::id_of(std::string_view token) const {
  const int32_t id = token.starts_with("##") ? continuations_.find(token.substr(2)) : word_starts_.find(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::string_view WordPieceTokenizer::token_of(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) return {};
  return vocab_[static_cast<size_t>(id)];
}

// Greedy longest-match-first, as BERT's WordpieceTokenizer: a word with any unmatchable
// remainder, or longer than max_input_chars_per_word characters, becomes a single [UNK].
void WordPieceTokenizer::split_word(std::string_view word, const std::vector<WordChar>& chars,
                                    std::vector<Token>& out) const {
  const auto unknown_word = [&] {
    out.push_back(Token{unk_text_, special_.unk, chars.front().begin, chars.back().end});
  };
  if (chars.size() > normalization_.max_input_chars_per_word) return unknown_word();
  if (chars.size() == 1 && word.size() <= 3) {
    size_t end = 0;
    const int32_t id = bmp_char_ids_[static_cast<size_t>(next_code_point(word, end))];
    if (id < 0) return unknown_word();
    out.push_back(Token{vocab_[static_cast<size_t>(id)], id, chars[0].begin, chars[0].end});
    return;
  }
  const size_t first_piece = out.size();
  size_t start = 0;
  while (start < chars.size()) {
    const size_t start_byte = start == 0 ? 0 : chars[start - 1].word_end;
    const PieceTable& pieces = start == 0 ? word_starts_ : continuations_;
    int32_t id = -1;
    size_t end = chars.size();
    for (; end > start; --end) {
      const size_t length = chars[end - 1].word_end - start_byte;
      if (length > pieces.longest_key()) continue;
      id = pieces.find(word.substr(start_byte, length));
      if (id >= 0) break;
    }
    if (id < 0) {
      out.resize(first_piece);
      return unknown_word();
    }
    out.push_back(Token{vocab_[static_cast<size_t>(id)], id, chars[start].begin, chars[end - 1].end});
    start = end;
  }
}

std::vector<Token> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<Token> out;
  out.reserve(text.size() / 3 + 1);  // about one token per CJK character
  tokenize_into(text, out);
  return out;
}

void WordPieceTokenizer::tokenize_into(std::string_view text, std::vector<Token>& out) const {
  if (!never_split_.empty()) return tokenize_honouring_never_split(text, out);
  const auto emit = [&](std::string_view word, const std::vector<WordChar>& chars) { split_word(word, chars, out); };
  BasicTokenizer<decltype(emit)>(normalization_, emit).run(text);
}

void WordPieceTokenizer::tokenize_range(std::string_view text, size_t begin, size_t end,
                                        std::vector<Token>& out) const {
  const size_t first = out.size();
  const auto emit = [&](std::string_view word, const std::vector<WordChar>& chars) { split_word(word, chars, out); };
  BasicTokenizer<decltype(emit)>(normalization_, emit).run(text.substr(begin, end - begin));
  for (size_t i = first; i < out.size(); ++i) out[i].begin += begin, out[i].end += begin;
}

void WordPieceTokenizer::set_never_split(const std::vector<std::string>& words) {
  never_split_ = words;
  std::sort(never_split_.begin(), never_split_.end());
}

// Hugging Face's BasicTokenizer checks never_split on each whitespace-delimited word after
// cleaning and after spacing out CJK ideographs; everything else takes the ordinary path.
void WordPieceTokenizer::tokenize_honouring_never_split(std::string_view text, std::vector<Token>& out) const {
  size_t pending = 0;  // start of the text not tokenised yet
  std::string word;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t word_begin = pos, word_end = pos;
    word.clear();
    while (pos < text.size()) {
      const size_t begin = pos;
      const int32_t cp = next_code_point(text, pos);
      const utf8proc_propval_t category =
          cp < 0x80 ? kAsciiCategory : static_cast<utf8proc_propval_t>(utf8proc_category(cp));
      if (normalization_.clean_text && is_dropped_by_cleaning(cp, category)) continue;
      if (is_whitespace(cp, category) || (normalization_.handle_chinese_chars && is_chinese_char(cp))) {
        if (word.empty()) continue;  // a delimiter before the word: skip it
        pos = begin;
        break;
      }
      if (word.empty()) word_begin = begin;
      append_utf8(word, cp);
      word_end = pos;
    }
    if (word.empty() || !std::binary_search(never_split_.begin(), never_split_.end(), word)) continue;
    tokenize_range(text, pending, word_begin, out);
    const int32_t id = id_of(word).value_or(special_.unk);
    out.push_back(Token{vocab_[static_cast<size_t>(id)], id, word_begin, word_end});
    pending = word_end;
  }
  tokenize_range(text, pending, text.size(), out);
}

namespace {

// Python's Final_Sigma looks past case-ignorable characters to the next cased one, anywhere.
bool followed_by_cased_in_text(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    const int32_t cp = next_code_point(text, pos);
    const utf8proc_property_t& property = *utf8proc_get_property(cp);
    if (!is_case_ignorable(cp, property.category)) return is_cased(cp, property);
  }
  return false;
}

}  // namespace

LoweredText lower_like_python(std::string_view text) {
  LoweredText out;
  out.text.reserve(text.size());
  const auto add = [&](int32_t cp, size_t begin, size_t end) {
    const size_t before = out.text.size();
    append_utf8(out.text, cp);
    if (out.same_offsets && out.text.size() - before != end - begin) {
      // The first change of length: from now on every byte records its source.
      out.same_offsets = false;
      out.source.reserve(text.size() + 8);
      for (size_t i = 0, p = 0; i < before; p = i) {
        size_t q = p;
        next_code_point(out.text, q);
        for (; i < q; ++i) out.source.emplace_back(p, q);
      }
    }
    if (!out.same_offsets) out.source.resize(out.text.size(), {begin, end});
  };
  bool previous_is_cased = false;
  for (size_t pos = 0; pos < text.size();) {
    const size_t begin = pos;
    const int32_t cp = next_code_point(text, pos);
    if (cp < 0x80) {
      if (!is_case_ignorable(cp, kAsciiCategory)) previous_is_cased = (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
      add(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp, begin, pos);
      continue;
    }
    if (cp == kReplacementChar && pos - begin == 1) {  // an invalid byte stays as it is
      out.text += text[begin];
      if (!out.same_offsets) out.source.emplace_back(begin, pos);
      continue;
    }
    const utf8proc_property_t& property = *utf8proc_get_property(cp);
    if (cp == 0x130) {
      add('i', begin, pos);
      add(0x307, begin, pos);
    } else if (cp == 0x3A3) {
      add(previous_is_cased && !followed_by_cased_in_text(text, pos) ? 0x3C2 : 0x3C3, begin, pos);
    } else {
      add(property.lowercase_seqindex != kNoSequence ? utf8proc_tolower(cp) : cp, begin, pos);
    }
    if (!is_case_ignorable(cp, property.category)) previous_is_cased = is_cased(cp, property);
  }
  return out;
}

}  // namespace nspbert
