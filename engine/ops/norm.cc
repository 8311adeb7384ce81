#include "engine/ops/norm.h"

#include <cmath>

namespace nspbert {

// Statistics in double: hidden states of pre-norm models grow large, and f32 sums of squares
// lose the digits the 1e-3 tolerance needs.
static void layer_norm_row(const float* x, float* out, int64_t n, const float* gain, const float* bias, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / n;
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = static_cast<float>(1.0 / std::sqrt(var / n + eps));
  const float m = static_cast<float>(mean);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - m) * inv * gain[i] + bias[i];
}

static void rms_row(const float* x, float* out, int64_t n, float eps) {
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(sq / n + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv;
}

void normalize_rows(const NormWeights& norm, const float* x, float* out, int64_t rows, int64_t width) {
  if (norm.kind == NormKind::LayerNorm) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      layer_norm_row(x + r * width, out + r * width, width, norm.gain.data(), norm.bias.data(), norm.eps);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) rms_row(x + r * width, out + r * width, width, norm.eps);
  }
}

}  // namespace nspbert
