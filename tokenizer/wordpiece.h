#pragma once
// BERT's WordPiece with the semantics of the original BertTokenizer (google-research/bert
// tokenization.py): clean text, split CJK ideographs and punctuation, optional lower-casing
// and accent stripping, then greedy longest-match-first sub-words with "##" continuations.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nspbert {

// The BasicTokenizer switches; field names follow Hugging Face's BertNormalizer.
struct BertNormalization {
  bool lowercase = true;
  std::optional<bool> strip_accents;  // unset: strip exactly when lower-casing
  bool handle_chinese_chars = true;   // put spaces around CJK ideographs
  bool clean_text = true;             // drop NUL, U+FFFD and control characters; whitespace -> space
  // Longer words become one [UNK]. The original tokenizer (and bert4keras) use 200; Hugging
  // Face uses 100, which its tokenizer.json states explicitly.
  size_t max_input_chars_per_word = 200;

  bool strips_accents() const { return strip_accents.value_or(lowercase); }
};

struct SpecialTokenNames {
  std::string cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", unk = "[UNK]", mask = "[MASK]";
};

// Open-addressing hash table from piece text to id: one flat array and linear probing, so a
// lookup is a hash and usually a single cache line. Keys are views into storage the owner
// keeps alive.
class PieceTable {
 public:
  // Later duplicates win, as in the original load_vocab's dict assignment.
  void build(const std::vector<std::pair<std::string_view, int32_t>>& entries);
  int32_t find(std::string_view key) const;  // -1 when absent
  size_t longest_key() const { return longest_key_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    const char* data = nullptr;
    uint32_t size = 0;
    int32_t id = -1;  // -1: empty
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t longest_key_ = 0;
};

class WordPieceTokenizer final : public Tokenizer {
 public:
  // `vocab[i]` is the token with id i. Throws fail_model if the unknown token is missing.
  WordPieceTokenizer(std::vector<std::string> vocab, BertNormalization normalization, SpecialTokenNames names = {});
  // The lookup tables point into vocab_.
  WordPieceTokenizer(const WordPieceTokenizer&) = delete;
  WordPieceTokenizer& operator=(const WordPieceTokenizer&) = delete;
  // vocab.txt: one token per line, id = line number.
  static std::vector<std::string> read_vocab(const std::filesystem::path& vocab_txt);

  std::vector<Token> tokenize(std::string_view text) const override;
  // The same, appended to `out`.
  void tokenize_into(std::string_view text, std::vector<Token>& out) const;
  const SpecialTokens& special() const override { return special_; }
  TokenizerKind kind() const override { return TokenizerKind::WordPiece; }
  size_t vocab_size() const override { return vocab_.size(); }
  std::optional<int32_t> id_of(std::string_view token) const override;
  std::string_view token_of(int32_t id) const override;

  const BertNormalization& normalization() const { return normalization_; }
  // Hugging Face's never_split: a whitespace-delimited word equal to one of these is one token,
  // neither lower-cased nor split (the vocabulary's id, or the unknown token).
  void set_never_split(const std::vector<std::string>& words);

  // One normalised character of a word: where it ends in the word's UTF-8, and the input
  // bytes it came from (several characters share them when NFD splits one).
  struct WordChar {
    size_t word_end;
    size_t begin;
    size_t end;
  };

 private:
  void split_word(std::string_view word, const std::vector<WordChar>& chars, std::vector<Token>& out) const;
  // BERT's basic tokenizer + WordPiece over text[begin, end), offsets into the whole text.
  void tokenize_range(std::string_view text, size_t begin, size_t end, std::vector<Token>& out) const;
  void tokenize_honouring_never_split(std::string_view text, std::vector<Token>& out) const;

  std::vector<std::string> vocab_;
  // Keys point into vocab_. Continuations are keyed without their "##" so lookups need no copy.
  PieceTable word_starts_;
  PieceTable continuations_;
  // Word-start ids of single BMP characters, indexed by code point (-1: not in the vocabulary).
  // Every CJK ideograph is a word of its own, so most Chinese lookups skip hashing.
  std::vector<int32_t> bmp_char_ids_;
  BertNormalization normalization_;
  SpecialTokens special_;
  std::string unk_text_;
  std::vector<std::string> never_split_;
};

// Python's str.lower() over a whole text (Final_Sigma, U+0130 -> "i\u0307"), as Hugging Face's
// RoFormerTokenizer lower-cases before cutting words, with where each lowered byte came from.
struct LoweredText {
  std::string text;
  // True when every character kept its byte length, so that offsets carry over unchanged;
  // otherwise `source` holds, per byte of `text`, the source byte range of its character.
  bool same_offsets = true;
  std::vector<std::pair<size_t, size_t>> source;

  size_t source_begin(size_t begin) const { return same_offsets ? begin : source[begin].first; }
  size_t source_end(size_t end) const { return same_offsets ? end : source[end - 1].second; }
};
LoweredText lower_like_python(std::string_view text);

}  // namespace nspbert
