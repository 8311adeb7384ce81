#pragma once
// Scalar conversions between f32 and the 16-bit float formats, exact for every bit pattern
// (subnormals, infinities, NaN payloads). Inputs may be misaligned, hence the byte pointers.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nspbert::weights {

static_assert(std::endian::native == std::endian::little, "checkpoint files are little-endian");

inline float f16_to_f32(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24 is exact in f32.
  return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(static_cast<float>(mantissa) * 0x1p-24f));
}

inline float bf16_to_f32(uint16_t bf16) { return std::bit_cast<float>(static_cast<uint32_t>(bf16) << 16); }

// Round to nearest even; overflow goes to infinity, NaN stays NaN.
inline uint16_t f32_to_f16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((magnitude >> 13) & 0x1ffu);
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past the largest half
  if (magnitude < 0x38800000u) {
    // Below 2^-14: the result is value * 2^24 rounded to an integer (1024 carries into the
    // smallest normal, which has the same encoding).
    const float scaled = std::bit_cast<float>(magnitude) * 0x1p24f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  const uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
}

inline uint16_t f32_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

inline void widen_f16(const std::byte* source, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    uint16_t half;
    std::memcpy(&half, source + 2 * i, 2);
    out[i] = f16_to_f32(half);
  }
}

inline void widen_bf16(const std::byte* source, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    uint16_t bf16;
    std::memcpy(&bf16, source + 2 * i, 2);
    out[i] = bf16_to_f32(bf16);
  }
}

inline void narrow_f64(const std::byte* source, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    double wide;
    std::memcpy(&wide, source + 8 * i, 8);
    out[i] = static_cast<float>(wide);
  }
}

}  // namespace nspbert::weights
