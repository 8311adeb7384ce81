#include "engine/ops/attention.h"

#include <cmath>

#include "engine/ops/attention_kernel.h"

namespace nspbert {

static double logit_scale(const AttentionSettings& s, int64_t head_dim, int64_t valid_length) {
  double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  if (s.logn_base > 1.0) {
    double factor = std::log(static_cast<double>(std::max<int64_t>(valid_length, 1))) / std::log(s.logn_base);
    if (s.logn_at_least_one) factor = std::max(1.0, factor);
    scale *= factor;
  }
  return scale;
}

void self_attention(const AttentionLayout& layout, const AttentionSettings& settings, const float* qkv,
                    float* context, const std::vector<int64_t>* query_rows, AttentionEntropy* entropy) {
  const int64_t head_dim = layout.hidden / layout.heads;
  const int64_t n_seq = static_cast<int64_t>(layout.sequences.size());
  double entropy_sum = 0;
  int64_t entropy_count = 0;
#pragma omp parallel for schedule(dynamic, 1) collapse(2) reduction(+ : entropy_sum, entropy_count)
  for (int64_t s = 0; s < n_seq; ++s) {
    for (int64_t h = 0; h < layout.heads; ++h) {
      const SequenceRows& seq = layout.sequences[s];
      HeadTask task;
      task.qkv = qkv;
      task.context = context;
      task.row_stride = 3 * layout.hidden;
      task.hidden = layout.hidden;
      task.head_dim = head_dim;
      task.head = h;
      task.first_row = seq.first_row;
      task.rows = seq.rows;
      task.positions = layout.positions.data();
      task.is_key = layout.is_key.data();
      task.window = settings.window;
      task.scale = static_cast<float>(logit_scale(settings, head_dim, seq.valid_length));
      task.query_rows = query_rows;
      double e = 0;
      int64_t c = 0;
      attend_one_head(task, entropy ? &e : nullptr, &c);
      entropy_sum += e;
      entropy_count += c;
    }
  }
  if (entropy) {
    entropy->sum += entropy_sum;
    entropy->count += entropy_count;
  }
}

void apply_rotary(const AttentionLayout& layout, float* qkv, int64_t rows, bool rotate_value) {
  const int64_t head_dim = layout.hidden / layout.heads;
  const int64_t parts = rotate_value ? 3 : 2;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = qkv + r * 3 * layout.hidden;
    rotate_row(row, parts, layout.hidden, head_dim, layout.positions[r]);
  }
}

}  // namespace nspbert
