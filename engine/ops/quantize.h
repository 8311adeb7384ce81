#pragma once
// Element kernels for the reduced-precision GEMM paths: f32 -> bf16 rounding, dynamic int8
// quantisation of activations.
#include <cstdint>

namespace nspbert {

// Round-to-nearest-even f32 -> bf16 (bit pattern), NaN kept quiet.
void to_bf16(const float* x, uint16_t* out, int64_t n);
// The same on the calling thread only, for short runs inside an already parallel loop.
void to_bf16_serial(const float* x, uint16_t* out, int64_t n);

// Dynamic per-tensor asymmetric u8: x ~ scale * (q - zero_point), q in 0..255, the range
// stretched to include 0 so zero (and padding) is exact. Per tensor rather than per row because
// oneDNN 2.6's VNNI matmul can then apply the whole dequantisation, bias and activation in its own
// epilogue (a per-row factor drops it to the reference kernel); u8 is what the VNNI u8*s8 kernel takes.
struct TensorQuantization {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
TensorQuantization quantize_tensor_u8(const float* x, int64_t count, uint8_t* out);
// The same from bf16 bit patterns (an int8 FFN's intermediate: half the bytes to read twice).
TensorQuantization quantize_tensor_u8(const uint16_t* x, int64_t count, uint8_t* out);

}  // namespace nspbert
