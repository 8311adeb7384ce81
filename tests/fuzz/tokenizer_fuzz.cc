// WordPiece tokenisation and pair encoding of arbitrary bytes (invalid UTF-8 included).
// Input: byte 0 = flags, bytes 1-2 = max length (little-endian), then segment A, and after the
// first '\n' segment B. Flags: bits 0-1 pick the tokenizer (0 bert-base-chinese cased, 1 the
// same lower-cased, 2-3 bert-base-uncased with accent stripping), bit 2 LongestFirst instead of
// NspReference, bit 3 a single segment (A alone, '\n' kept in it).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace nspbert;

const Tokenizer& tokenizer(unsigned choice) {
  static const std::unique_ptr<Tokenizer> zh_cased =
      Tokenizer::from_vocab(NSPBERT_SOURCE_DIR "/tests/data/vocab/zh_vocab.txt", false);
  static const std::unique_ptr<Tokenizer> zh_lower =
      Tokenizer::from_vocab(NSPBERT_SOURCE_DIR "/tests/data/vocab/zh_vocab.txt", true);
  static const std::unique_ptr<Tokenizer> en_uncased =
      Tokenizer::from_vocab(NSPBERT_SOURCE_DIR "/tests/data/vocab/en_vocab.txt", true);
  return choice == 0 ? *zh_cased : choice == 1 ? *zh_lower : *en_uncased;
}

void check_tokens(const Tokenizer& tok, const std::vector<Token>& tokens, std::string_view text) {
  size_t previous_begin = 0;
  for (const Token& token : tokens) {
    fuzz::require(token.id >= 0 && static_cast<size_t>(token.id) < tok.vocab_size(), "token id outside the vocabulary",
                  token.text);
    fuzz::require(token.text == tok.token_of(token.id), "token text is not the vocabulary entry of its id", token.text);
    fuzz::require(token.begin < token.end && token.end <= text.size(), "token offsets outside the text", token.text);
    fuzz::require(token.begin >= previous_begin, "token offsets go backwards", token.text);
    previous_begin = token.begin;
  }
}

// How many tokens of each segment the rule keeps, written out as docs/methods.md §1 states it.
std::pair<size_t, size_t> expected_kept(size_t a, size_t b, size_t budget, Truncation rule) {
  while (a + b > budget) {
    const bool from_a = rule == Truncation::NspReference ? a >= b : a > b;
    (from_a ? a : b) -= 1;
  }
  return {a, b};
}

void check_encoding(const Tokenizer& tok, const Encoding& encoding, const std::vector<Token>& a,
                    const std::optional<std::vector<Token>>& b, size_t max_length, Truncation rule) {
  const size_t specials = b ? 3 : 2;
  const auto [keep_a, keep_b] = expected_kept(a.size(), b ? b->size() : 0, max_length - specials, rule);
  fuzz::require(encoding.segment_a_tokens == keep_a && encoding.segment_b_tokens == keep_b,
                "truncation kept the wrong number of tokens");
  fuzz::require(encoding.truncated == (a.size() + (b ? b->size() : 0) > keep_a + keep_b), "wrong truncated flag");
  const size_t total = keep_a + keep_b + specials;
  fuzz::require(total <= max_length, "encoding longer than max length");
  fuzz::require(encoding.ids.size() == total && encoding.type_ids.size() == total && encoding.offsets.size() == total &&
                    encoding.tokens.size() == total,
                "encoding vectors differ in length");
  const SpecialTokens& special = tok.special();
  std::vector<int32_t> ids{special.cls}, types{0};
  for (size_t i = 0; i < keep_a; ++i) ids.push_back(a[i].id), types.push_back(0);
  ids.push_back(special.sep), types.push_back(0);
  if (b) {
    for (size_t i = 0; i < keep_b; ++i) ids.push_back((*b)[i].id), types.push_back(1);
    ids.push_back(special.sep), types.push_back(1);
  }
  fuzz::require(encoding.ids == ids, "encoded ids are not [CLS] A [SEP] (B [SEP]) of the tokenised segments");
  fuzz::require(encoding.type_ids == types, "wrong segment ids");
  for (size_t i = 0; i < total; ++i)
    fuzz::require(encoding.tokens[i] == tok.token_of(encoding.ids[i]), "encoded token text differs from its id");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const unsigned flags = data[0];
  const size_t max_length = data[1] | (static_cast<size_t>(data[2]) << 8);
  const Truncation rule = (flags & 4) ? Truncation::LongestFirst : Truncation::NspReference;
  const Tokenizer& tok = tokenizer(flags & 3);
  const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t newline = input.find('\n');
  const bool pair = !(flags & 8) && newline != std::string_view::npos;
  const std::string_view text_a = pair ? input.substr(0, newline) : input;
  const std::optional<std::string_view> text_b = pair ? std::optional(input.substr(newline + 1)) : std::nullopt;

  const std::vector<Token> a = tok.tokenize(text_a);
  check_tokens(tok, a, text_a);
  std::optional<std::vector<Token>> b;
  if (text_b) {
    b = tok.tokenize(*text_b);
    check_tokens(tok, *b, *text_b);
  }
  const size_t specials = text_b ? 3 : 2;
  try {
    const Encoding encoding = encode(tok, text_a, text_b, max_length, rule);
    fuzz::require(max_length >= specials, "encoded into a max length that cannot hold the special tokens");
    check_encoding(tok, encoding, a, b, max_length, rule);
  } catch (const Error& e) {
    fuzz::require(e.kind() == ErrorKind::Usage && max_length < specials, "encode failed", e.what());
    fuzz::check_one_line(e.what());
  }
  return 0;
}
