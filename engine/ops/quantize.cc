#include "engine/ops/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace nspbert {

static inline uint16_t bf16_of(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
  const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return nan ? static_cast<uint16_t>((bits >> 16) | 0x40u) : static_cast<uint16_t>(rounded >> 16);
}

void to_bf16(const float* x, uint16_t* out, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_of(x[i]);
}

void to_bf16_serial(const float* x, uint16_t* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_of(x[i]);
}

// Clamps to 0..255 with NaN going to 0: a cast of NaN or of an out-of-range float is undefined.
static inline float to_u8_range(float v) { return v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f; }

// Round to nearest even for 0 <= v <= 255 by the 1.5 * 2^23 trick: std::nearbyint is a libm call
// that keeps the loop from vectorising.
static inline float round_small(float v) {
  constexpr float magic = 12582912.0f;
  return (v + magic) - magic;
}

TensorQuantization quantize_tensor_u8(const float* x, int64_t count, uint8_t* out) {
  float lo = 0.0f, hi = 0.0f;
#pragma omp parallel for simd schedule(static) reduction(min : lo) reduction(max : hi)
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  TensorQuantization q;
  if (hi > lo) q.scale = (hi - lo) / 255.0f;
  q.zero_point = static_cast<int32_t>(to_u8_range(std::nearbyint(-lo / q.scale)));
  const float inv = 1.0f / q.scale, zero = static_cast<float>(q.zero_point);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(round_small(to_u8_range(x[i] * inv + zero)));
  return q;
}

}  // namespace nspbert
