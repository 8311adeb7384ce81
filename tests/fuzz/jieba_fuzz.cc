// jieba's non-HMM cut and RoFormer's word-level tokenizer on arbitrary bytes (invalid UTF-8
// included). Byte 0 holds flags: bit 0 = the input carries its own dictionary text (up to the
// first NUL byte, parsed by JiebaDictionary::parse, whose errors must be one-line nspbert::Error),
// otherwise the small dictionary of tests/data/wordseg; bit 1 = also tokenise with the
// word-level folder tests/data/wordseg/roformer-words-small. The rest is the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "tokenizer/jieba.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace nspbert;

const JiebaDictionary& small_dictionary() {
  static const auto dictionary = JiebaDictionary::load(NSPBERT_SOURCE_DIR "/tests/data/wordseg/jieba_dict.txt");
  return *dictionary;
}

const Tokenizer& word_tokenizer() {
  static const auto tokenizer =
      Tokenizer::from_model_dir(NSPBERT_SOURCE_DIR "/tests/data/wordseg/roformer-words-small");
  return *tokenizer;
}

bool is_ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A piece of several characters is a run of ASCII letters/digits, "\r\n" or a dictionary word.
bool is_word(const JiebaDictionary& d, std::string_view piece) {
  int32_t node = JiebaDictionary::kRoot;
  for (size_t i = 0; i < piece.size();) {
    char32_t cp = 0;
    const auto byte = static_cast<unsigned char>(piece[i]);
    const size_t length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4;
    if (i + length > piece.size()) return false;
    cp = length == 1 ? byte : byte & (0xFF >> (length + 1));
    for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(piece[i + k]) & 0x3F);
    node = d.child(node, cp);
    if (node == JiebaDictionary::kNoNode) return false;
    i += length;
  }
  return d.is_word(node);
}

void check_cut(const JiebaDictionary& d, std::string_view text) {
  std::vector<TextSpan> spans;
  jieba_cut(d, text, spans);
  size_t covered = 0;
  for (const TextSpan& s : spans) {
    fuzz::require(s.begin == covered && s.end > s.begin && s.end <= text.size(), "pieces do not tile the text");
    const std::string_view piece = text.substr(s.begin, s.end - s.begin);
    const bool single = piece.size() == 1 || (piece.size() <= 4 && static_cast<unsigned char>(piece[0]) >= 0xC0 &&
                                              (static_cast<unsigned char>(piece[1]) & 0xC0) == 0x80);
    const bool glued = std::all_of(piece.begin(), piece.end(), is_ascii_alnum);
    fuzz::require(single || glued || piece == "\r\n" || is_word(d, piece), "a piece is not a word", piece);
    covered = s.end;
  }
  fuzz::require(covered == text.size(), "pieces do not cover the text");
}

void check_tokens(std::string_view text) {
  const Tokenizer& tok = word_tokenizer();
  size_t previous_begin = 0;
  for (const Token& token : tok.tokenize(text)) {
    fuzz::require(token.id >= 0 && static_cast<size_t>(token.id) < tok.vocab_size(), "token id outside the vocabulary");
    fuzz::require(token.text == tok.token_of(token.id), "token text is not the vocabulary entry of its id", token.text);
    fuzz::require(token.begin < token.end && token.end <= text.size(), "token offsets outside the text", token.text);
    fuzz::require(token.begin >= previous_begin, "token offsets go backwards", token.text);
    previous_begin = token.begin;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned flags = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::shared_ptr<const JiebaDictionary> own;
  if (flags & 1) {
    const size_t nul = input.find('\0');
    if (nul == std::string_view::npos) return 0;
    fuzz::run_expecting_nspbert_errors([&] { own = JiebaDictionary::parse(input.substr(0, nul), "fuzz.txt"); },
                                       [](std::string_view message) { fuzz::check_one_line(message); });
    input.remove_prefix(nul + 1);
    if (!own) return 0;
  }
  check_cut(own ? *own : small_dictionary(), input);
  if (flags & 2) check_tokens(input);
  return 0;
}
