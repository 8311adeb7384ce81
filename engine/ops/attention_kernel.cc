#include "engine/ops/attention_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace nspbert {

void attend_one_head(const HeadTask& t, double* entropy_sum, int64_t* entropy_count) {
  const int64_t d = t.head_dim;
  const int64_t q_off = t.head * d, k_off = t.hidden + t.head * d, v_off = 2 * t.hidden + t.head * d;

  // Gather this head's keys and values contiguously: the score loop then streams through memory.
  thread_local std::vector<float> keys, values, scores;
  thread_local std::vector<int64_t> key_pos;
  keys.resize(t.rows * d);
  values.resize(t.rows * d);
  key_pos.resize(t.rows);
  scores.resize(t.rows);
  int64_t n_keys = 0;
  for (int64_t r = 0; r < t.rows; ++r) {
    const int64_t row = t.first_row + r;
    if (!t.is_key[row]) continue;
    const float* src = t.qkv + row * t.row_stride;
    std::copy(src + k_off, src + k_off + d, keys.data() + n_keys * d);
    std::copy(src + v_off, src + v_off + d, values.data() + n_keys * d);
    key_pos[n_keys++] = t.positions[row];
  }

  auto one_query = [&](int64_t row) {
    const float* q = t.qkv + row * t.row_stride + q_off;
    float* out = t.context + row * t.hidden + t.head * d;
    const int64_t qpos = t.positions[row];
    float max_score = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n_keys; ++j) {
      if (t.window > 0 && std::llabs(qpos - key_pos[j]) > t.window) {
        scores[j] = -std::numeric_limits<float>::infinity();
        continue;
      }
      const float* k = keys.data() + j * d;
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t i = 0; i < d; ++i) dot += q[i] * k[i];
      scores[j] = dot * t.scale;
      max_score = std::max(max_score, scores[j]);
    }
    std::fill(out, out + d, 0.0f);
    if (!std::isfinite(max_score)) return;  // nothing visible: a zero context, never NaN
    float sum = 0;
    for (int64_t j = 0; j < n_keys; ++j) {
      scores[j] = std::exp(scores[j] - max_score);
      sum += scores[j];
    }
    const float inv = 1.0f / sum;
    double entropy = 0;
    for (int64_t j = 0; j < n_keys; ++j) {
      const float p = scores[j] * inv;
      if (p == 0.0f) continue;
      if (entropy_sum) entropy -= static_cast<double>(p) * std::log(static_cast<double>(p));
      const float* v = values.data() + j * d;
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) out[i] += p * v[i];
    }
    if (entropy_sum && t.is_key[row]) {
      *entropy_sum += entropy;
      ++*entropy_count;
    }
  };

  if (t.query_rows) {
    for (int64_t row : *t.query_rows)
      if (row >= t.first_row && row < t.first_row + t.rows) one_query(row);
  } else {
    for (int64_t r = 0; r < t.rows; ++r) one_query(t.first_row + r);
  }
}

void rotate_row(float* row, int64_t parts, int64_t hidden, int64_t head_dim, int64_t position) {
  const int64_t heads = hidden / head_dim;
  // Angles in double, then sin/cos rounded to f32, as the reference does.
  thread_local std::vector<float> sin_table, cos_table;
  sin_table.resize(head_dim / 2);
  cos_table.resize(head_dim / 2);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const double inv_freq = 1.0 / std::pow(10000.0, static_cast<double>(2 * i) / head_dim);
    const double angle = static_cast<double>(position) * inv_freq;
    sin_table[i] = static_cast<float>(std::sin(angle));
    cos_table[i] = static_cast<float>(std::cos(angle));
  }
  for (int64_t p = 0; p < parts; ++p) {
    for (int64_t h = 0; h < heads; ++h) {
      float* x = row + p * hidden + h * head_dim;
      for (int64_t i = 0; i < head_dim / 2; ++i) {
        const float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * cos_table[i] - x1 * sin_table[i];
        x[2 * i + 1] = x1 * cos_table[i] + x0 * sin_table[i];
      }
    }
  }
}

}  // namespace nspbert
