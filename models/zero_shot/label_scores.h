#pragma once
// What both prompt scorers (NSP and MLM) produce per label, and the arithmetic that turns
// per-template log-probabilities into one ranking score: template combination, contextual
// calibration, normalisation over labels and top-k.
#include <cstddef>
#include <string>
#include <vector>

#include "models/zero_shot/task_spec.h"

namespace nspbert::zero_shot {

struct LabelScore {
  // NSP: log P(IsNext) of the prompt/text pair; MLM: mean log-probability of the label's tokens.
  // Combined over templates when there are several.
  double log_prob = 0.0;
  double logit_gap = 0.0;  // NSP only: l0 - l1 (several templates: their mean)
  double score = 0.0;      // what labels are ranked by: log_prob, or log_prob - log_prob(empty text) when calibrated
  std::vector<double> template_log_probs;   // per template, before combination
  std::vector<double> template_logit_gaps;  // NSP, per template
};

// log sigmoid(x) without overflow: log P(IsNext) from the logit gap.
double log_sigmoid(double x);

// Mean of the values, or log-mean-exp (log-sum-exp minus log n): a smooth maximum that stays a
// log-probability (between the mean and the max of the values).
double combine_log_probs(const std::vector<double>& values, Combine how);

// Fills log_prob, logit_gap and score from per-template values. `empty_text_log_probs`, when not
// empty, holds each template's log-probability of the same label against an empty text: contextual
// calibration divides by it (subtracts, in logs) per template before combining.
void finish_label_score(LabelScore& s, Combine how, const std::vector<double>& empty_text_log_probs);

// softmax of the scores over the labels.
std::vector<double> normalized_probabilities(const std::vector<LabelScore>& scores);

// Index of the best score (first on ties).
size_t best_label(const std::vector<LabelScore>& scores);

// Label indices by descending score, at most k (k = 0: all).
std::vector<size_t> ranked_labels(const std::vector<LabelScore>& scores, size_t k);

// Candidates-contrast with a fixed label set: every label's prompt against each text. The NSP and
// the MLM scorer both implement it, so the task code does not care which head scores.
class PromptScorer {
 public:
  virtual ~PromptScorer() = default;
  // Per text, one score per label (in label order). All label x text pairs of the call go through
  // the encoder together.
  virtual std::vector<std::vector<LabelScore>> score(const std::vector<std::string>& texts) const = 0;
  // Per text, one score per label in `labels[i]` (label indices, in that order): the cascade
  // (cascade.h) re-scores a few labels of each text with a second scorer.
  virtual std::vector<std::vector<LabelScore>> score_labels(const std::vector<std::string>& texts,
                                                            const std::vector<std::vector<size_t>>& labels) const = 0;
};

// Every label index 0..count-1, once per text: `score_labels` with it is `score`.
std::vector<std::vector<size_t>> every_label(size_t texts, size_t count);

}  // namespace nspbert::zero_shot
