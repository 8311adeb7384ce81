#include "engine/ops/attention_kernel.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "engine/ops/isa_clones.h"
#include "engine/ops/quantize.h"

namespace nspbert {

// exp for x <= 0 in plain arithmetic so the softmax loop vectorises (libm's expf is a scalar call
// without -ffast-math, which would also break the isfinite checks). Cephes' expf: Cody-Waite
// reduction by ln 2 and a degree-5 polynomial, relative error ~1e-7; x below -87 (and -inf, a
// hidden key) gives exactly 0.
[[gnu::always_inline]] static inline float exp_nonpositive(float x) {
  x = std::max(x, -100.0f);
  constexpr float log2e = 1.44269504088896341f, round_magic = 12582912.0f;  // 1.5 * 2^23
  const float n = (x * log2e + round_magic) - round_magic;                  // round to nearest
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e_r = p * r * r + r + 1.0f;
  const int32_t biased = static_cast<int32_t>(n) + 127;
  const float two_n = std::bit_cast<float>(std::max(biased, 0) << 23);
  return biased > 0 ? e_r * two_n : 0.0f;
}

namespace {

// One row of scores -> probabilities; returns the row's entropy when asked (else 0).
[[gnu::always_inline]] inline double softmax_row(const SoftmaxRows& r, int64_t hi, bool masked, bool with_entropy,
                                                 bool* counted) {
  const int64_t n = r.n, i = r.first_query + hi % r.queries;
  float* s = r.scores + hi * n;
  constexpr float hidden = -std::numeric_limits<float>::infinity();
  float max_score = hidden;
  if (masked) {
    for (int64_t j = 0; j < n; ++j) {
      const bool visible = r.is_key[j] && (r.window <= 0 || std::llabs(r.positions[i] - r.positions[j]) <= r.window);
      s[j] = visible ? s[j] * r.scale : hidden;
      max_score = std::max(max_score, s[j]);
    }
  } else {
#pragma omp simd reduction(max : max_score)
    for (int64_t j = 0; j < n; ++j) {
      s[j] *= r.scale;
      max_score = std::max(max_score, s[j]);
    }
  }
  *counted = false;
  if (!std::isfinite(max_score)) {
    std::fill(s, s + n, 0.0f);  // nothing visible: a zero context, never NaN
    if (r.bf16_out) std::fill(r.bf16_out + hi * n, r.bf16_out + (hi + 1) * n, uint16_t{0});
    return 0;
  }
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    s[j] = exp_nonpositive(s[j] - max_score);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
  if (r.bf16_out) to_bf16_serial(s, r.bf16_out + hi * n, n);
  if (!with_entropy || !r.is_key[i]) return 0;
  double e = 0;
  for (int64_t j = 0; j < n; ++j)
    if (s[j] > 0.0f) e -= static_cast<double>(s[j]) * std::log(static_cast<double>(s[j]));
  *counted = true;
  return e;
}

bool needs_mask(const SoftmaxRows& r) {
  bool any_hidden_key = false;
  for (int64_t j = 0; j < r.n; ++j) any_hidden_key |= !r.is_key[j];
  return any_hidden_key || r.window > 0;
}

}  // namespace

NSPBERT_ISA_CLONES SoftmaxEntropy masked_softmax_serial(const SoftmaxRows& r, bool with_entropy) {
  const bool masked = needs_mask(r);
  SoftmaxEntropy e;
  for (int64_t hi = 0; hi < r.heads * r.queries; ++hi) {
    bool counted = false;
    e.sum += softmax_row(r, hi, masked, with_entropy, &counted);
    e.count += counted;
  }
  return e;
}

NSPBERT_ISA_CLONES void rotate_row(float* row, int64_t parts, int64_t hidden, int64_t head_dim, int64_t position) {
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
