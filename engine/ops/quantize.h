#pragma once
// Element kernels for the reduced-precision GEMM paths: f32 -> bf16 rounding, per-row dynamic
// int8 quantisation of activations, and the int8 GEMM epilogue.
#include <cstdint>

namespace nspbert {

// Round-to-nearest-even f32 -> bf16 (bit pattern), NaN kept quiet.
void to_bf16(const float* x, uint16_t* out, int64_t n);

// Per-row asymmetric u8: x ~ row_min + row_scale * q with q in 0..255, so one-sided rows (GELU
// outputs) use every level. u8 activations are what the VNNI u8*s8 kernel takes.
void quantize_rows_u8(const float* x, int64_t rows, int64_t cols, uint8_t* out, float* row_scale, float* row_min);

// With W ~ column_scale * Wq: y = column_scale * (row_scale * acc + row_min * column_sum(Wq)) + bias,
// or y += that when accumulate.
void dequantize_rows(const int32_t* acc, int64_t rows, int64_t cols, const float* row_scale, const float* row_min,
                     const float* column_scale, const int32_t* column_sum, const float* bias, float* y,
                     bool accumulate);

}  // namespace nspbert
