#include "tokenizer/added_tokens.h"

#include <algorithm>

namespace nspbert {

AddedTokensTokenizer::AddedTokensTokenizer(std::unique_ptr<Tokenizer> inner, std::vector<AddedToken> tokens)
    : inner_(std::move(inner)), vocab_size_(inner_->vocab_size()) {
  for (AddedToken& token : tokens) {
    const bool seen = std::any_of(tokens_.begin(), tokens_.end(),
                                  [&](const AddedToken& other) { return other.content == token.content; });
    if (token.content.empty() || token.id < 0 || seen) continue;
    starts_with_[static_cast<unsigned char>(token.content[0])] = true;
    vocab_size_ = std::max(vocab_size_, static_cast<size_t>(token.id) + 1);
    tokens_.push_back(std::move(token));
  }
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
}

const AddedToken* AddedTokensTokenizer::match_at(std::string_view text, size_t pos) const {
  if (!starts_with_[static_cast<unsigned char>(text[pos])]) return nullptr;
  for (const AddedToken& token : tokens_) {
    if (text.substr(pos).starts_with(token.content)) return &token;
  }
  return nullptr;
}

std::vector<Token> AddedTokensTokenizer::tokenize(std::string_view text) const {
  std::vector<Token> out;
  size_t chunk_begin = 0;
  const auto flush_chunk = [&](size_t chunk_end) {
    if (chunk_begin == 0 && chunk_end == text.size()) {
      out = inner_->tokenize(text);  // the common case: no added token in the text
      return;
    }
    for (Token& token : inner_->tokenize(text.substr(chunk_begin, chunk_end - chunk_begin))) {
      token.begin += chunk_begin;
      token.end += chunk_begin;
      out.push_back(std::move(token));
    }
  };
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* token = match_at(text, pos);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    if (pos > chunk_begin) flush_chunk(pos);
    out.push_back(Token{token->content, token->id, pos, pos + token->content.size()});
    pos += token->content.size();
    chunk_begin = pos;
  }
  if (text.size() > chunk_begin) flush_chunk(text.size());
  return out;
}

std::optional<int32_t> AddedTokensTokenizer::id_of(std::string_view token) const {
  for (const AddedToken& added : tokens_) {
    if (added.content == token) return added.id;
  }
  return inner_->id_of(token);
}

std::string_view AddedTokensTokenizer::token_of(int32_t id) const {
  if (id >= 0 && static_cast<size_t>(id) < inner_->vocab_size()) return inner_->token_of(id);
  for (const AddedToken& added : tokens_) {
    if (added.id == id) return added.content;
  }
  return {};
}

}  // namespace nspbert
