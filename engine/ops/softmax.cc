#include "engine/ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nspbert {

double logsumexp(const float* x, int64_t n) {
  if (n <= 0) return -std::numeric_limits<double>::infinity();
  const float m = *std::max_element(x, x + n);
  if (!std::isfinite(m)) return m;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - m);
  return m + std::log(sum);
}

void softmax_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  const float m = *std::max_element(x, x + n);
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void log_softmax(const float* x, float* out, int64_t n) {
  const double lse = logsumexp(x, n);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] - lse);
}

double prob_is_next(float logit_is_next, float logit_not_next) {
  const double gap = static_cast<double>(logit_is_next) - logit_not_next;
  return gap >= 0 ? 1.0 / (1.0 + std::exp(-gap)) : std::exp(gap) / (1.0 + std::exp(gap));
}

}  // namespace nspbert
