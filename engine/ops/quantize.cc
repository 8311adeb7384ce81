#include "engine/ops/quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "engine/ops/isa_clones.h"

namespace nspbert {

namespace {

[[gnu::always_inline]] inline uint16_t bf16_of(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
  const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return nan ? static_cast<uint16_t>((bits >> 16) | 0x40u) : static_cast<uint16_t>(rounded >> 16);
}

[[gnu::always_inline]] inline float widen(float x) { return x; }
[[gnu::always_inline]] inline float widen(uint16_t bf16) {
  return std::bit_cast<float>(static_cast<uint32_t>(bf16) << 16);
}

// Clamps to 0..255 with NaN going to 0: a cast of NaN or of an out-of-range float is undefined.
[[gnu::always_inline]] inline float to_u8_range(float v) { return v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f; }

// Round to nearest even for 0 <= v <= 255 by the 1.5 * 2^23 trick: std::nearbyint is a libm call
// that keeps the loop from vectorising.
[[gnu::always_inline]] inline float round_small(float v) {
  constexpr float magic = 12582912.0f;
  return (v + magic) - magic;
}

// The element loops, one chunk on the calling thread; the public functions share chunks out.
// Each is cloned per instruction set (isa_clones.h); the templates are inlined into the clones.
template <typename T>
[[gnu::always_inline]] inline void range_of(const T* x, int64_t n, float& lo, float& hi) {
#pragma omp simd reduction(min : lo) reduction(max : hi)
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, widen(x[i]));
    hi = std::max(hi, widen(x[i]));
  }
}

template <typename T>
[[gnu::always_inline]] inline void quantize_chunk(const T* x, int64_t n, float inv, float zero, uint8_t* out) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(round_small(to_u8_range(widen(x[i]) * inv + zero)));
}

NSPBERT_ISA_CLONES void range_f32(const float* x, int64_t n, float& lo, float& hi) { range_of(x, n, lo, hi); }
NSPBERT_ISA_CLONES void range_bf16(const uint16_t* x, int64_t n, float& lo, float& hi) { range_of(x, n, lo, hi); }
NSPBERT_ISA_CLONES void quantize_f32(const float* x, int64_t n, float inv, float zero, uint8_t* out) {
  quantize_chunk(x, n, inv, zero, out);
}
NSPBERT_ISA_CLONES void quantize_bf16(const uint16_t* x, int64_t n, float inv, float zero, uint8_t* out) {
  quantize_chunk(x, n, inv, zero, out);
}
void range_chunk(const float* x, int64_t n, float& lo, float& hi) { range_f32(x, n, lo, hi); }
void range_chunk(const uint16_t* x, int64_t n, float& lo, float& hi) { range_bf16(x, n, lo, hi); }
void quantize_chunk_of(const float* x, int64_t n, float inv, float zero, uint8_t* out) {
  quantize_f32(x, n, inv, zero, out);
}
void quantize_chunk_of(const uint16_t* x, int64_t n, float inv, float zero, uint8_t* out) {
  quantize_bf16(x, n, inv, zero, out);
}

constexpr int64_t kChunk = 16384;  // elements per task: long enough for the vector loop, small for balance

template <typename T>
TensorQuantization quantize_tensor(const T* x, int64_t count, uint8_t* out) {
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  float lo = 0.0f, hi = 0.0f;
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
  for (int64_t c = 0; c < chunks; ++c) range_chunk(x + c * kChunk, std::min(kChunk, count - c * kChunk), lo, hi);
  TensorQuantization q;
  if (hi > lo) q.scale = (hi - lo) / 255.0f;
  q.zero_point = static_cast<int32_t>(to_u8_range(std::nearbyint(-lo / q.scale)));
  const float inv = 1.0f / q.scale, zero = static_cast<float>(q.zero_point);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c)
    quantize_chunk_of(x + c * kChunk, std::min(kChunk, count - c * kChunk), inv, zero, out + c * kChunk);
  return q;
}

}  // namespace

NSPBERT_ISA_CLONES void to_bf16_serial(const float* x, uint16_t* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_of(x[i]);
}

void to_bf16(const float* x, uint16_t* out, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c)
    to_bf16_serial(x + c * kChunk, out + c * kChunk, std::min(kChunk, n - c * kChunk));
}

TensorQuantization quantize_tensor_u8(const float* x, int64_t count, uint8_t* out) {
  return quantize_tensor(x, count, out);
}

TensorQuantization quantize_tensor_u8(const uint16_t* x, int64_t count, uint8_t* out) {
  return quantize_tensor(x, count, out);
}

}  // namespace nspbert
