#pragma once
// RoFormer's word-level Chinese tokenizer (Hugging Face's RoFormerTokenizer, bert4keras with
// pre_tokenize=jieba.cut(s, HMM=False)): the text is lower-cased when the folder says so, cut
// into words by jieba without the HMM, and a word found in the vocabulary is one token; any
// other word goes through BERT's basic tokenizer + WordPiece.
#include <memory>
#include <string>

#include "tokenizer/jieba.h"
#include "tokenizer/wordpiece.h"

namespace nspbert {

class RoFormerWordTokenizer final : public Tokenizer {
 public:
  // `lowercase`: do_lower_case, applied (as Python's str.lower) before jieba sees the text.
  RoFormerWordTokenizer(std::unique_ptr<WordPieceTokenizer> wordpiece,
                        std::shared_ptr<const JiebaDictionary> dictionary, bool lowercase);

  std::vector<Token> tokenize(std::string_view text) const override;
  const SpecialTokens& special() const override { return wordpiece_->special(); }
  size_t vocab_size() const override { return wordpiece_->vocab_size(); }
  std::optional<int32_t> id_of(std::string_view token) const override { return wordpiece_->id_of(token); }
  std::string_view token_of(int32_t id) const override { return wordpiece_->token_of(id); }
  TokenizerKind kind() const override { return TokenizerKind::JiebaWordPiece; }
  std::string word_dictionary() const override { return dictionary_->source(); }

 private:
  std::unique_ptr<WordPieceTokenizer> wordpiece_;
  std::shared_ptr<const JiebaDictionary> dictionary_;
  bool lowercase_;
};

}  // namespace nspbert
