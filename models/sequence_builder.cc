#include "models/sequence_builder.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "engine/error.h"

namespace nspbert {

SequenceBuilder::SequenceBuilder(const LengthLimit& limit, const Model& model, const AttentionOptions& attention,
                                 bool pairs)
    : tokenizer_(*model.tokenizer) {
  user_limit_ = limit.max_length.value_or(std::numeric_limits<size_t>::max());
  const size_t specials = pairs ? 3 : 2;
  if (user_limit_ < specials)
    fail_usage("--max-length " + std::to_string(user_limit_) + " cannot hold the " + std::to_string(specials) +
               " special tokens every sequence needs");
  const size_t positions = static_cast<size_t>(model.spec.max_positions);
  if (model.spec.position_kind == PositionKind::Absolute) {
    table_ = positions;
  } else {
    training_ = positions;
  }
  refuse_overlength_ = limit.refuse_overlength;
  remedied_ = attention.window > 0 || attention.logn_base > 1 || attention.hwfa;
}

std::optional<Sequence> SequenceBuilder::build(std::vector<Token> a, std::optional<std::vector<Token>> b,
                                               Truncation rule, std::string& error) {
  const size_t full = a.size() + (b ? b->size() + 3 : 2);
  size_t limit = user_limit_;
  if (table_ > 0 && std::min(full, limit) > table_) {
    if (refuse_overlength_) {
      error = "the text is " + std::to_string(std::min(full, limit)) + " tokens, past this model's position table (" +
              std::to_string(table_) + "); shorten it, set --max-length, or use --overlength truncate";
      return std::nullopt;
    }
    limit = table_;
    ++cut_at_table_;
  }
  Encoding e = encode_tokens(tokenizer_, std::move(a), std::move(b), limit, rule);
  if (training_ > 0 && e.ids.size() > training_) ++past_training_;
  ++sequences_;
  Sequence s;
  s.ids = std::move(e.ids);
  s.type_ids = std::move(e.type_ids);
  return s;
}

std::optional<Sequence> SequenceBuilder::single(const std::string& text, std::string& error) {
  return build(tokenizer_.tokenize(text), std::nullopt, Truncation::NspReference, error);
}

std::optional<Sequence> SequenceBuilder::pair(const std::string& a, const std::string& b, Truncation rule,
                                              std::string& error) {
  return build(tokenizer_.tokenize(a), tokenizer_.tokenize(b), rule, error);
}

std::vector<std::string> SequenceBuilder::notes() const {
  std::vector<std::string> out;
  if (cut_at_table_ > 0)
    out.push_back(std::to_string(cut_at_table_) + " of " + std::to_string(sequences_) + " sequences were cut to " +
                  std::to_string(table_) +
                  " tokens, the position table of this model (--overlength error refuses them instead)");
  if (past_training_ > 0 && !remedied_)
    out.push_back(std::to_string(past_training_) + " of " + std::to_string(sequences_) +
                  " sequences are longer than the training length (" + std::to_string(training_) +
                  " tokens); --hwfa, --attention-window or --logn-scale help RoPE models past it");
  return out;
}

void SequenceBuilder::print_notes() const {
  for (const std::string& note : notes()) std::fprintf(stderr, "nspbert: note: %s\n", note.c_str());
}

}  // namespace nspbert
