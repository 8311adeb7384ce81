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

void quantize_rows_u8(const float* x, int64_t rows, int64_t cols, uint8_t* out, float* row_scale) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float max_abs = 0.0f;
#pragma omp simd reduction(max : max_abs)
    for (int64_t c = 0; c < cols; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
    const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    const float inv = 1.0f / scale;
    uint8_t* q = out + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      const float v = std::nearbyint(row[c] * inv);
      q[c] = static_cast<uint8_t>(static_cast<int32_t>(std::clamp(v, -127.0f, 127.0f)) + 128);
    }
    row_scale[r] = scale;
  }
}

void dequantize_rows(const int32_t* acc, int64_t rows, int64_t cols, const float* row_scale,
                     const float* column_scale, const int32_t* column_sum, const float* bias, float* y,
                     bool accumulate) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    float* out = y + r * cols;
    const float rs = row_scale[r];
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      float v = static_cast<float>(a[c] - 128 * column_sum[c]) * rs * column_scale[c];
      if (bias) v += bias[c];
      out[c] = accumulate ? out[c] + v : v;
    }
  }
}

}  // namespace nspbert
