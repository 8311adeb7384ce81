#include "engine/batch_runner.h"

#include <algorithm>
#include <numeric>

#include "engine/error.h"

namespace nspbert {

static void run_group(const Encoder& encoder, const std::vector<Sequence>& sequences, const std::vector<size_t>& group,
                      const BatchPlan& plan, std::vector<SequenceOutputs>& results, StreamStats* stats) {
  const int64_t B = static_cast<int64_t>(group.size());
  int64_t T = 0;
  for (size_t i : group) T = std::max<int64_t>(T, sequences[i].ids.size());
  EncoderInput in;
  in.batch = B;
  in.seq_len = T;
  in.ids.assign(B * T, 0);
  in.type_ids.assign(B * T, 0);
  in.attention_mask.assign(B * T, 0);
  in.position_ids.assign(B * T, 0);
  ForwardRequest req;
  for (int64_t b = 0; b < B; ++b) {
    const Sequence& s = sequences[group[b]];
    const int64_t n = static_cast<int64_t>(s.ids.size());
    for (int64_t t = 0; t < n; ++t) {
      in.ids[b * T + t] = s.ids[t];
      in.type_ids[b * T + t] = s.type_ids.empty() ? 0 : s.type_ids[t];
      in.position_ids[b * T + t] = s.position_ids.empty() ? t : s.position_ids[t];
      in.attention_mask[b * T + t] = 1;
    }
    for (int64_t t : s.mlm_positions) req.mlm_positions.emplace_back(b, t);
  }
  req.attention = plan.attention;
  req.ablation = plan.ablation;
  req.want_nsp = plan.nsp;
  req.want_pooled = plan.pooled;
  req.want_classifier = plan.classifier;
  req.want_last_hidden = plan.cls_hidden || plan.mean_hidden;
  req.want_stats = plan.stats && stats;
  const EncoderOutput out = encoder.forward(in, req);

  const int64_t H = out.hidden;
  size_t mlm_index = 0;
  for (int64_t b = 0; b < B; ++b) {
    const Sequence& s = sequences[group[b]];
    SequenceOutputs& r = results[group[b]];
    if (plan.nsp) r.nsp_logits.assign(out.nsp_logits.begin() + 2 * b, out.nsp_logits.begin() + 2 * b + 2);
    if (plan.pooled) r.pooled.assign(out.pooled.begin() + b * H, out.pooled.begin() + (b + 1) * H);
    if (plan.classifier) {
      const int64_t C = static_cast<int64_t>(out.classifier_logits.size()) / B;
      r.classifier_logits.assign(out.classifier_logits.begin() + b * C, out.classifier_logits.begin() + (b + 1) * C);
    }
    // last_hidden is empty unless asked for, and offsetting its null data() is undefined.
    const float* rows = req.want_last_hidden ? out.last_hidden.data() + b * T * H : nullptr;
    if (plan.cls_hidden) r.cls_hidden.assign(rows, rows + H);
    if (plan.mean_hidden) {
      const int64_t n = static_cast<int64_t>(s.ids.size());
      std::vector<double> sum(H, 0.0);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t h = 0; h < H; ++h) sum[h] += rows[t * H + h];
      r.mean_hidden.resize(H);
      for (int64_t h = 0; h < H; ++h) r.mean_hidden[h] = static_cast<float>(sum[h] / n);
    }
    for (size_t m = 0; m < s.mlm_positions.size(); ++m) r.mlm_log_probs.push_back(out.mlm_log_probs[mlm_index++]);
  }
  if (req.want_stats) stats->merge(out.stats);
}

std::vector<SequenceOutputs> run_sequences(const Encoder& encoder, const std::vector<Sequence>& sequences,
                                           const BatchPlan& plan, StreamStats* stats) {
  std::vector<SequenceOutputs> results(sequences.size());
  std::vector<size_t> order(sequences.size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = 0; i < sequences.size(); ++i)
    if (sequences[i].ids.empty()) fail_input("sequence " + std::to_string(i) + " has no tokens");
  // Longest first: the first batch reveals the peak memory at once.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sequences[a].ids.size() > sequences[b].ids.size(); });
  std::vector<size_t> group;
  int64_t group_len = 0;
  for (size_t i : order) {
    const int64_t len = static_cast<int64_t>(sequences[i].ids.size());
    const int64_t padded_len = std::max(group_len, len);
    if (!group.empty() && (static_cast<int64_t>(group.size() + 1) * padded_len > plan.token_budget ||
                           static_cast<int64_t>(group.size()) >= plan.max_batch)) {
      run_group(encoder, sequences, group, plan, results, stats);
      group.clear();
      group_len = 0;
    }
    group.push_back(i);
    group_len = std::max(group_len, len);
  }
  if (!group.empty()) run_group(encoder, sequences, group, plan, results, stats);
  return results;
}

}  // namespace nspbert
