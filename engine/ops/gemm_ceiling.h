#pragma once
// What one large GEMM reaches on this CPU in a given precision, measured with oneDNN: the
// ceiling `nspbert bench` compares the encoder with (CPUs differ between machines, so it is
// measured, not assumed).
#include "engine/encoder_spec.h"

namespace nspbert {

// GFLOP/s of a [M x K] x [K x N] matmul (f32; bf16 x bf16 -> f32; u8 x s8 -> s32) at the current
// oneDNN thread count, the best of a few runs after a warm-up; about 0.1-0.5 s.
double measured_gemm_gflops(Precision precision, int64_t m = 1024, int64_t k = 768, int64_t n = 3072);

}  // namespace nspbert
