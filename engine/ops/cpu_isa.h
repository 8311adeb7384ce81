#pragma once
// What this CPU offers, as oneDNN sees it at run time: the kernels (and so the precisions worth
// running) are picked from it on every start, never fixed at build time.
#include "engine/encoder_spec.h"

namespace nspbert {

// Native bf16 dot products (AVX512-BF16 or AMX): without them oneDNN emulates bf16 slowly.
bool cpu_has_bf16();

// oneDNN's name for the instruction set it dispatches to (avx512_core_bf16, avx2_vnni, ...).
const char* cpu_isa_name();

// Which clone of our own element kernels the loader picked (engine/ops/isa_clones.h):
// x86-64-v4, x86-64-v3, baseline, or native (a -DNSPBERT_NATIVE=ON build).
const char* element_kernel_level();

// `--precision auto`: bf16 where the CPU has native bf16 dot products, else f32.
Precision auto_precision();

}  // namespace nspbert
