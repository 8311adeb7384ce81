#pragma once
// Runs many variable-length sequences through the encoder: sorted by length and grouped by a
// token budget so padding costs (almost) nothing, results returned in the caller's order.
#include <cstdint>
#include <vector>

#include "engine/encoder.h"

namespace nspbert {

struct Sequence {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;       // empty = zeros
  std::vector<int64_t> position_ids;   // empty = 0..n-1
  std::vector<int64_t> mlm_positions;  // token indices whose MLM log-probs are wanted
};

struct SequenceOutputs {
  std::vector<float> nsp_logits;   // [2]
  std::vector<float> pooled;       // [H] tanh pooler
  std::vector<float> cls_hidden;   // [H] last hidden state at position 0
  std::vector<float> mean_hidden;  // [H] mean of the last hidden states
  std::vector<float> classifier_logits;
  std::vector<std::vector<float>> mlm_log_probs;  // per requested position, [V]
};

struct BatchPlan {
  bool nsp = false, pooled = false, cls_hidden = false, mean_hidden = false, classifier = false;
  bool stats = false;
  AttentionOptions attention;
  Ablation ablation;
  int64_t token_budget = 8192;  // padded tokens per encoder call
  int64_t max_batch = 64;
};

// `stats`, when given and plan.stats is set, accumulates residual-stream statistics.
std::vector<SequenceOutputs> run_sequences(const Encoder& encoder, const std::vector<Sequence>& sequences,
                                           const BatchPlan& plan, StreamStats* stats = nullptr);

}  // namespace nspbert
