#include "engine/ops/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace nspbert {

void to_bf16(const float* x, uint16_t* out, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
    out[i] = nan ? static_cast<uint16_t>((bits >> 16) | 0x40u) : static_cast<uint16_t>(rounded >> 16);
  }
}

void quantize_rows_u8(const float* x, int64_t rows, int64_t cols, uint8_t* out, float* row_scale, float* row_min) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float lo = row[0], hi = row[0];
#pragma omp simd reduction(min : lo) reduction(max : hi)
    for (int64_t c = 0; c < cols; ++c) {
      lo = std::min(lo, row[c]);
      hi = std::max(hi, row[c]);
    }
    const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    const float inv = 1.0f / scale;
    uint8_t* q = out + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c)
      q[c] = static_cast<uint8_t>(std::clamp(std::nearbyint((row[c] - lo) * inv), 0.0f, 255.0f));
    row_scale[r] = scale;
    row_min[r] = lo;
  }
}

void dequantize_rows(const int32_t* acc, int64_t rows, int64_t cols, const float* row_scale, const float* row_min,
                     const float* column_scale, const int32_t* column_sum, const float* bias, float* y,
                     bool accumulate) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    float* out = y + r * cols;
    const float rs = row_scale[r], rm = row_min[r];
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      float v = column_scale[c] * (rs * static_cast<float>(a[c]) + rm * static_cast<float>(column_sum[c]));
      if (bias) v += bias[c];
      out[c] = accumulate ? out[c] + v : v;
    }
  }
}

}  // namespace nspbert
