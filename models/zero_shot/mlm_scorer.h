#pragma once
// PET-style prompt scoring with the MLM head, for checkpoints without an NSP head (RoFormer v2):
// the template's {label} becomes as many [MASK] slots as the label has tokens, and a label scores
// the mean log-probability of its tokens in those slots. Labels with the same token count share
// one sequence per text and template.
#include <cstddef>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/encoder.h"
#include "models/zero_shot/label_scores.h"
#include "models/zero_shot/task_spec.h"
#include "tokenizer/tokenizer.h"

namespace nspbert::zero_shot {

struct MlmSettings {
  size_t max_length = 128;
  PromptPosition position = PromptPosition::Prefix;
  Combine combine = Combine::Mean;
  bool calibrate = false;
  BatchPlan plan;
  // Each [MASK] slot returns a log-probability row over the whole vocabulary: bound how many rows
  // one encoder call may hold.
  size_t max_slots_per_call = 256;
};

class MlmPromptScorer : public PromptScorer {
 public:
  MlmPromptScorer(const Encoder& encoder, const Tokenizer& tokenizer, std::vector<std::string> templates,
                  std::vector<std::string> label_words, MlmSettings settings);
  std::vector<std::vector<LabelScore>> score(const std::vector<std::string>& texts) const override;
  std::vector<std::vector<LabelScore>> score_labels(const std::vector<std::string>& texts,
                                                    const std::vector<std::vector<size_t>>& labels) const override;

 private:
  // One template with n [MASK] slots, and the labels of n tokens it scores.
  struct Group {
    size_t template_index = 0;
    std::vector<Token> prompt;
    size_t mask_begin = 0;  // index of the first [MASK] inside the prompt
    std::vector<size_t> labels;
  };
  // [text][label][template] mean log-probabilities of the labels in `labels[text]` (the others stay 0):
  // a group none of a text's labels is in is not run for it.
  std::vector<std::vector<std::vector<double>>> log_probs(const std::vector<std::vector<Token>>& texts,
                                                          const std::vector<std::vector<size_t>>& labels) const;

  const Encoder& encoder_;
  const Tokenizer& tokenizer_;
  MlmSettings settings_;
  size_t template_count_ = 0;
  std::vector<std::vector<int32_t>> label_tokens_;
  std::vector<Group> groups_;
  std::vector<std::vector<double>> empty_text_;  // [label][template]
};

}  // namespace nspbert::zero_shot
