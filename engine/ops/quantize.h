#pragma once
// Element kernels for the reduced-precision GEMM paths: f32 -> bf16 rounding, per-row dynamic
// int8 quantisation of activations, and the int8 GEMM epilogue.
#include <cstdint>

namespace nspbert {

// Round-to-nearest-even f32 -> bf16 (bit pattern), NaN kept quiet.
void to_bf16(const float* x, uint16_t* out, int64_t n);

// Per-row symmetric scale s = max|x| / 127, stored as u8 with a +128 offset so the VNNI u8*s8
// kernel applies; the offset is removed in the epilogue with the weight column sums.
void quantize_rows_u8(const float* x, int64_t rows, int64_t cols, uint8_t* out, float* row_scale);

// y = (acc - 128 * column_sum) * row_scale * column_scale + bias, or y += that when accumulate.
void dequantize_rows(const int32_t* acc, int64_t rows, int64_t cols, const float* row_scale,
                     const float* column_scale, const int32_t* column_sum, const float* bias, float* y,
                     bool accumulate);

}  // namespace nspbert
