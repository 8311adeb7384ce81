#pragma once
// SentencePiece models (spiece.model, sentencepiece.bpe.model) through libsentencepiece.
// Ids are the model's own piece ids.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace nspbert {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `lowercase` lower-cases the input first (ALBERT-style do_lower_case); offsets still point
  // into the original text.
  explicit SentencePieceTokenizer(const std::filesystem::path& model_file, bool lowercase = false);
  ~SentencePieceTokenizer() override;

  std::vector<Token> tokenize(std::string_view text) const override;
  const SpecialTokens& special() const override { return special_; }
  size_t vocab_size() const override;
  std::optional<int32_t> id_of(std::string_view token) const override;
  std::string_view token_of(int32_t id) const override;
  TokenizerKind kind() const override { return TokenizerKind::SentencePiece; }

 private:
  std::optional<int32_t> first_known(std::initializer_list<std::string_view> candidates) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  bool lowercase_ = false;
  SpecialTokens special_;
};

}  // namespace nspbert
