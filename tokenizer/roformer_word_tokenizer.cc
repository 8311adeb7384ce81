#include "tokenizer/roformer_word_tokenizer.h"

namespace nspbert {

RoFormerWordTokenizer::RoFormerWordTokenizer(std::unique_ptr<WordPieceTokenizer> wordpiece,
                                             std::shared_ptr<const JiebaDictionary> dictionary, bool lowercase)
    : wordpiece_(std::move(wordpiece)), dictionary_(std::move(dictionary)), lowercase_(lowercase) {}

std::vector<Token> RoFormerWordTokenizer::tokenize(std::string_view text) const {
  LoweredText lowered;
  if (lowercase_) lowered = lower_like_python(text);
  const std::string_view cut_text = lowercase_ ? std::string_view(lowered.text) : text;
  std::vector<TextSpan> words;
  words.reserve(cut_text.size() / 4 + 1);
  jieba_cut(*dictionary_, cut_text, words);

  std::vector<Token> out;
  out.reserve(words.size());
  for (const TextSpan& word : words) {
    const std::string_view piece = cut_text.substr(word.begin, word.end - word.begin);
    if (const std::optional<int32_t> id = wordpiece_->id_of(piece)) {
      out.push_back(Token{std::string(piece), *id, lowered.source_begin(word.begin), lowered.source_end(word.end)});
      continue;
    }
    // Hugging Face hands the word alone to BERT's tokenizer; offsets come back relative to it.
    const size_t first = out.size();
    wordpiece_->tokenize_into(piece, out);
    for (size_t i = first; i < out.size(); ++i) {
      out[i].begin = lowered.source_begin(word.begin + out[i].begin);
      out[i].end = lowered.source_end(word.begin + out[i].end);
    }
  }
  return out;
}

}  // namespace nspbert
