#pragma once
// NSP-BERT (docs/methods.md §1): s(A, B) = P(IsNext) = softmax(nsp_logits)[0], ranked by the logit gap
// l0 - l1. Candidates-contrast (a prompt per label against the text), samples-contrast (one pair
// per line) and the ChID cloze with soft position ids. Several templates combine by mean
// log-probability or log-sum-exp; contextual calibration divides by the prompt's score against an
// empty text.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/encoder.h"
#include "models/zero_shot/label_scores.h"
#include "models/zero_shot/task_spec.h"
#include "tokenizer/tokenizer.h"

namespace nspbert::zero_shot {

struct NspSettings {
  size_t max_length = 128;
  PromptPosition position = PromptPosition::Prefix;
  Combine combine = Combine::Mean;
  bool calibrate = false;
  BatchPlan plan;  // attention options, token budget; NSP output is switched on by the scorers
};

struct PairScore {
  double prob_is_next = 0.0;
  double logit_gap = 0.0;
};

// Fails (usage) when max_length exceeds an absolute position table, (model) without an NSP head.
void check_nsp_model(const Encoder& encoder, size_t max_length);

// One sequence per pair as the reference builds it: [CLS] A [SEP] B [SEP], NspReference truncation.
Sequence pair_sequence(const Tokenizer& tok, std::vector<Token> a, std::vector<Token> b, size_t max_length);

// P(IsNext) and the logit gap for every pair, in order, all through the encoder in one call.
std::vector<PairScore> score_pairs(const Encoder& encoder, const std::vector<Sequence>& sequences, BatchPlan plan);

class NspCandidatesScorer : public PromptScorer {
 public:
  // Prompts are tokenised here, once per template x label; with calibration, their empty-text
  // scores are computed here too.
  NspCandidatesScorer(const Encoder& encoder, const Tokenizer& tokenizer, std::vector<std::string> templates,
                      std::vector<std::string> label_words, NspSettings settings);
  std::vector<std::vector<LabelScore>> score(const std::vector<std::string>& texts) const override;
  std::vector<std::vector<LabelScore>> score_labels(const std::vector<std::string>& texts,
                                                    const std::vector<std::vector<size_t>>& labels) const override;

 private:
  Sequence sequence(const std::vector<Token>& prompt, const std::vector<Token>& text) const;

  const Encoder& encoder_;
  const Tokenizer& tokenizer_;
  NspSettings settings_;
  size_t label_count_ = 0;
  std::vector<std::vector<std::vector<Token>>> prompts_;  // [template][label]
  std::vector<std::vector<double>> empty_text_;           // [label][template] log P(IsNext | prompt, "")
};

class NspPairScorer {
 public:
  NspPairScorer(const Encoder& encoder, const Tokenizer& tokenizer, NspSettings settings);
  std::vector<PairScore> score(const std::vector<std::pair<std::string, std::string>>& pairs) const;

 private:
  const Encoder& encoder_;
  const Tokenizer& tokenizer_;
  NspSettings settings_;
};

// A cloze line (ChID): the text around the blank and this line's candidates.
struct ClozeItem {
  std::string left, right;  // text before and after the blank marker
  std::vector<std::string> candidates;
};

// Splits `text` at its one `blank` marker; LineError when there is none or more than one.
std::pair<std::string, std::string> split_at_blank(const std::string& text, const std::string& blank);

// [CLS] prompt [SEP] left right [SEP]. With soft positions the position ids are those of
// "[CLS] left prompt right [SEP] [SEP]": the prompt's tokens sit where the blank was, the passage
// keeps its own numbering around them, and the ids are a permutation of 0..n-1 (so they stay inside
// any position table the sequence length fits). When the passage is too long it is cut to a window
// centred on the blank; the prompt is cut only if it alone exceeds the budget.
Sequence cloze_sequence(const Tokenizer& tok, std::vector<Token> prompt, const std::vector<Token>& left,
                        const std::vector<Token>& right, size_t max_length, bool soft_positions);

class NspClozeScorer {
 public:
  NspClozeScorer(const Encoder& encoder, const Tokenizer& tokenizer, std::vector<std::string> templates,
                 bool soft_positions, NspSettings settings);
  // Per item, one score per candidate.
  std::vector<std::vector<LabelScore>> score(const std::vector<ClozeItem>& items) const;

 private:
  const Encoder& encoder_;
  const Tokenizer& tokenizer_;
  std::vector<std::string> templates_;
  bool soft_positions_;
  NspSettings settings_;
};

}  // namespace nspbert::zero_shot
