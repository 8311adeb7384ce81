#pragma once
// Text -> token ids. BERT WordPiece (vocab.txt) or SentencePiece (spiece.model), chosen from
// what a model folder ships.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nspbert {

struct Token {
  std::string text;  // "##ing", "[UNK]", "▁the"
  int32_t id = 0;
  size_t begin = 0;  // byte offsets of the source characters in the input text
  size_t end = 0;
};

struct SpecialTokens {
  int32_t cls = -1, sep = -1, pad = -1, unk = -1, mask = -1;
};

enum class TokenizerKind {
  WordPiece,       // BERT: basic tokenizer + WordPiece
  JiebaWordPiece,  // RoFormer's word-level vocabularies: jieba words first, WordPiece for the rest
  SentencePiece,
};
const char* tokenizer_kind_name(TokenizerKind kind);

// Where RoFormer's word-level tokenizer looks for jieba's dictionary when none is given.
inline constexpr const char* kDebianJiebaDict = "/usr/lib/python3/dist-packages/jieba/dict.txt";

struct TokenizerOptions {
  // jieba's dict.txt for word-level folders (--jieba-dict); empty: the folder's
  // jieba_dict.txt, else kDebianJiebaDict.
  std::filesystem::path jieba_dict;
  std::filesystem::path system_jieba_dict = kDebianJiebaDict;  // the last place looked at
  // Special and added tokens written in a text stay one token, as in Hugging Face's
  // tokenizers; true splits them like any other text (--split-special-tokens).
  bool split_special_tokens = false;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Never throws on bad UTF-8: invalid bytes become U+FFFD (then dropped by BERT cleaning).
  virtual std::vector<Token> tokenize(std::string_view text) const = 0;
  virtual const SpecialTokens& special() const = 0;
  virtual size_t vocab_size() const = 0;
  virtual std::optional<int32_t> id_of(std::string_view token) const = 0;
  virtual std::string_view token_of(int32_t id) const = 0;
  virtual TokenizerKind kind() const = 0;
  // The jieba dictionary a word-level tokenizer loaded; empty for the others.
  virtual std::string word_dictionary() const { return {}; }

  // vocab.txt + tokenizer_config.json (+ tokenizer.json normaliser) or a SentencePiece model;
  // RoFormer's word-level tokenizer when the folder asks for it.
  static std::unique_ptr<Tokenizer> from_model_dir(const std::filesystem::path& dir,
                                                   const TokenizerOptions& options = {});
  // The original BERT tokenizer; `keep_special_tokens` keeps [CLS], [MASK]... written in a text whole.
  static std::unique_ptr<Tokenizer> from_vocab(const std::filesystem::path& vocab_txt, bool lower_case,
                                               bool keep_special_tokens = false);

  // The file the vocabulary came from (empty when built in memory), for error messages.
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

enum class Truncation {
  NspReference,  // docs/methods.md §1: drop the last token of the longer segment, ties from A
  LongestFirst,  // Hugging Face's longest_first (ties from B)
};

// One encoded sequence: [CLS] A [SEP] (B [SEP]).
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<std::pair<size_t, size_t>> offsets;  // per token; specials get {0,0}
  std::vector<std::string> tokens;
  size_t segment_a_tokens = 0;  // real tokens of A kept after truncation
  size_t segment_b_tokens = 0;
  bool truncated = false;
};

// `add_special_tokens` false: A (B) alone, type ids 0 for A and 1 for B, nothing added.
Encoding encode(const Tokenizer& tok, std::string_view a, std::optional<std::string_view> b, size_t max_length,
                Truncation rule = Truncation::NspReference, bool add_special_tokens = true);
// Same, from already tokenised segments (lets callers tokenise a shared prompt once).
Encoding encode_tokens(const Tokenizer& tok, std::vector<Token> a, std::optional<std::vector<Token>> b,
                       size_t max_length, Truncation rule = Truncation::NspReference, bool add_special_tokens = true);

}  // namespace nspbert
