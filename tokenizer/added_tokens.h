#pragma once
// Special and added tokens written inside a text ("这是一则[MASK][MASK]新闻") stay one token each,
// as Hugging Face's tokenizers keep them: the text is cut at every occurrence (the longest token
// first where several start at the same place, matched case-sensitively, before any
// lower-casing) and only the text between goes to the wrapped tokenizer.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nspbert {

struct AddedToken {
  std::string content;
  int32_t id = -1;
};

class AddedTokensTokenizer final : public Tokenizer {
 public:
  // Tokens with an empty content are ignored; a later duplicate of a content is ignored too.
  AddedTokensTokenizer(std::unique_ptr<Tokenizer> inner, std::vector<AddedToken> tokens);

  std::vector<Token> tokenize(std::string_view text) const override;
  const SpecialTokens& special() const override { return inner_->special(); }
  size_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> id_of(std::string_view token) const override;
  std::string_view token_of(int32_t id) const override;
  TokenizerKind kind() const override { return inner_->kind(); }
  std::string word_dictionary() const override { return inner_->word_dictionary(); }

  const std::vector<AddedToken>& added_tokens() const { return tokens_; }

 private:
  // The added token that starts at `pos` (the longest), or nullptr.
  const AddedToken* match_at(std::string_view text, size_t pos) const;

  std::unique_ptr<Tokenizer> inner_;
  std::vector<AddedToken> tokens_;  // longest first
  std::array<bool, 256> starts_with_{};
  size_t vocab_size_ = 0;
};

}  // namespace nspbert
