#include "tokenizer/wordpiece.h"

#include <utf8proc.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "engine/error.h"

namespace nspbert {
namespace {

constexpr int32_t kReplacementChar = 0xFFFD;

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks, not all of CJK (no kana, hangul
// or full-width forms), exactly as the original tokenizer defines them.
bool is_chinese_char(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// BERT counts every non-alphanumeric printable ASCII character as punctuation ("$", "^", "`").
bool is_ascii_punctuation(int32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
         (cp >= 123 && cp <= 126);
}

bool is_punctuation(int32_t cp) {
  if (cp < 0x80) return is_ascii_punctuation(cp);
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

// _is_control: Cc and Cf, except \t \n \r which count as whitespace.
bool is_control(int32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const auto category = utf8proc_category(cp);
  return category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_CF;
}

bool is_dropped_by_cleaning(int32_t cp) {
  if (cp < 0x80) return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F;
  return cp == kReplacementChar || is_control(cp);
}

// _is_whitespace (space, \t \n \r, Zs), plus what Python's str.split() also splits on once
// cleaning has run: the line and paragraph separators (Zl, Zp) and the C0/C1 separators.
bool is_whitespace(int32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F);
  if (cp == 0x85) return true;
  const auto category = utf8proc_category(cp);
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

// Python's str.lower() lowers a capital sigma to the final form at the end of a word
// (Unicode's Final_Sigma context), so these two properties are needed to reproduce it.
bool is_cased(int32_t cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
      return true;
    default:
      // Other_Lowercase / Other_Uppercase: case-mapped symbols such as circled letters, and
      // the two ordinal indicators, the only ones without a mapping.
      return utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp || cp == 0xAA || cp == 0xBA;
  }
}

bool is_ascii_case_ignorable(int32_t cp) { return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`'; }

bool is_case_ignorable(int32_t cp) {
  if (cp < 0x80) return is_ascii_case_ignorable(cp);
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  // Word_Break MidLetter, MidNumLet and Single_Quote.
  switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
    case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return false;
  }
}

// Decodes one code point; invalid UTF-8 becomes U+FFFD and consumes one byte.
int32_t next_code_point(std::string_view text, size_t& pos) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  if (bytes[pos] < 0x80) return bytes[pos++];
  utf8proc_int32_t cp = 0;
  const utf8proc_ssize_t length =
      utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
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
      if (normalization_.clean_text && is_dropped_by_cleaning(cp)) continue;
      if (is_whitespace(cp)) {
        end_whitespace_token();
        continue;
      }
      if (normalization_.handle_chinese_chars && is_chinese_char(cp)) {
        end_whitespace_token();
        add_normalized(cp, begin, pos, text);
        end_whitespace_token();
        continue;
      }
      add_normalized(cp, begin, pos, text);
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

  void add_normalized(int32_t cp, size_t begin, size_t end, std::string_view text) {
    if (cp < 0x80) {
      if (normalization_.lowercase) {
        const bool letter = (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
        if (!is_ascii_case_ignorable(cp)) previous_is_cased_ = letter;
        if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
      }
      add_char(cp, begin, end);
      return;
    }
    if (!normalization_.lowercase) {
      add_maybe_stripped(cp, begin, end);
      return;
    }
    if (cp == 0x130) {
      // Python lowers "İ" to "i" + U+0307 COMBINING DOT ABOVE.
      add_maybe_stripped('i', begin, end);
      add_maybe_stripped(0x307, begin, end);
    } else if (cp == 0x3A3) {
      add_maybe_stripped(previous_is_cased_ && !followed_by_cased(text, end) ? 0x3C2 : 0x3C3, begin, end);
    } else {
      add_maybe_stripped(utf8proc_tolower(cp), begin, end);
    }
    if (!is_case_ignorable(cp)) previous_is_cased_ = is_cased(cp);
  }

  // The rest of the Final_Sigma test: no cased letter follows within the same token.
  bool followed_by_cased(std::string_view text, size_t pos) const {
    while (pos < text.size()) {
      const int32_t cp = next_code_point(text, pos);
      if (normalization_.clean_text && is_dropped_by_cleaning(cp)) continue;
      if (is_whitespace(cp) || (normalization_.handle_chinese_chars && is_chinese_char(cp))) return false;
      if (!is_case_ignorable(cp)) return is_cased(cp);
    }
    return false;
  }

  // NFD, then drop non-spacing marks (BERT's _run_strip_accents). Canonical reordering is
  // skipped: it only permutes combining marks, and those are dropped here.
  void add_maybe_stripped(int32_t cp, size_t begin, size_t end) {
    if (!strip_accents_) {
      add_char(cp, begin, end);
      return;
    }
    constexpr utf8proc_ssize_t kCapacity = 8;  // canonical decompositions are at most 4 long
    utf8proc_int32_t decomposed[kCapacity];
    int boundclass = 0;
    const auto count = utf8proc_decompose_char(cp, decomposed, kCapacity, UTF8PROC_DECOMPOSE, &boundclass);
    if (count <= 0 || count > kCapacity) {
      add_char(cp, begin, end);
      return;
    }
    for (utf8proc_ssize_t i = 0; i < count; ++i) {
      if (utf8proc_category(decomposed[i]) != UTF8PROC_CATEGORY_MN) add_char(decomposed[i], begin, end);
    }
  }

  void add_char(int32_t cp, size_t begin, size_t end) {
    const bool punctuation = is_punctuation(cp);
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

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, BertNormalization normalization,
                                       SpecialTokenNames names)
    : vocab_(std::move(vocab)), normalization_(normalization) {
  word_starts_.reserve(vocab_.size());
  continuations_.reserve(vocab_.size() / 4);
  for (size_t id = 0; id < vocab_.size(); ++id) {
    std::string_view token = vocab_[id];
    // A repeated token keeps its last id, as the original load_vocab's dict assignment does.
    if (token.starts_with("##")) {
      token.remove_prefix(2);
      continuations_[token] = static_cast<int32_t>(id);
      longest_continuation_bytes_ = std::max(longest_continuation_bytes_, token.size());
    } else {
      word_starts_[token] = static_cast<int32_t>(id);
      longest_start_bytes_ = std::max(longest_start_bytes_, token.size());
    }
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
    vocab.push_back(line);
  }
  if (in.bad()) fail_model("error while reading vocabulary " + vocab_txt.string());
  if (vocab.empty()) fail_model("vocabulary " + vocab_txt.string() + " is empty");
  return vocab;
}

std::optional<int32_t> WordPieceTokenizer::id_of(std::string_view token) const {
  const bool continuation = token.starts_with("##");
  const auto& table = continuation ? continuations_ : word_starts_;
  const auto it = table.find(continuation ? token.substr(2) : token);
  if (it == table.end()) return std::nullopt;
  return it->second;
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
  const size_t first_piece = out.size();
  size_t start = 0;
  while (start < chars.size()) {
    const size_t start_byte = start == 0 ? 0 : chars[start - 1].word_end;
    const auto& pieces = start == 0 ? word_starts_ : continuations_;
    const size_t longest = start == 0 ? longest_start_bytes_ : longest_continuation_bytes_;
    int32_t id = -1;
    size_t end = chars.size();
    for (; end > start; --end) {
      const size_t length = chars[end - 1].word_end - start_byte;
      if (length > longest) continue;
      const auto it = pieces.find(word.substr(start_byte, length));
      if (it != pieces.end()) {
        id = it->second;
        break;
      }
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
  const auto emit = [&](std::string_view word, const std::vector<WordChar>& chars) { split_word(word, chars, out); };
  BasicTokenizer<decltype(emit)>(normalization_, emit).run(text);
  return out;
}

}  // namespace nspbert
