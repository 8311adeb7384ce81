#pragma once
// Texts -> encoder sequences for the commands that encode texts (embed, rank, summarize,
// pair-score, and their Python methods), with the length rules of the README's "Long inputs":
// absolute-position models cannot go past their position table (cut there, or refused), RoPE models
// take any length unless a limit is given.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace nspbert {

// Texts encoded per round by the streaming commands (embed, pair-score; the Python methods the same,
// so batches, and so every float, match): big enough for good batches, small enough to stream.
inline constexpr size_t kTextsPerRound = 2048;

struct LengthLimit {
  std::optional<size_t> max_length;  // --max-length; none: the position table, or unlimited (RoPE)
  bool refuse_overlength = false;    // --overlength error: refuse texts past the table instead of cutting
};

class SequenceBuilder {
 public:
  // Fails (usage) when the limit cannot hold the special tokens.
  SequenceBuilder(const LengthLimit& limit, const Model& model, const AttentionOptions& attention, bool pairs);

  // [CLS] text [SEP], or nullopt with `error` set when the text is refused.
  std::optional<Sequence> single(const std::string& text, std::string& error);
  // [CLS] a [SEP] b [SEP] with segment ids 0 / 1.
  std::optional<Sequence> pair(const std::string& a, const std::string& b, Truncation rule, std::string& error);

  // One line per thing the user should know (texts cut at the position table, texts past a RoPE
  // model's training length with no length remedy switched on); print_notes writes them to stderr.
  std::vector<std::string> notes() const;
  void print_notes() const;

 private:
  std::optional<Sequence> build(std::vector<Token> a, std::optional<std::vector<Token>> b, Truncation rule,
                                std::string& error);

  const Tokenizer& tokenizer_;
  size_t user_limit_;    // --max-length, or unlimited
  size_t table_ = 0;     // absolute position table size, 0 for rotary models
  size_t training_ = 0;  // rotary models: the training length (max_position_embeddings)
  bool refuse_overlength_ = false;
  bool remedied_ = false;  // window / log-n / HWFA on
  size_t cut_at_table_ = 0, past_training_ = 0, sequences_ = 0;
};

}  // namespace nspbert
