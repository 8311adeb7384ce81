#pragma once
// Our own element kernels (softmax, norms, bf16 and int8 conversion) are built for the portable
// x86-64 baseline plus clones for x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512), and the loader
// picks the clone this CPU runs (function multi-versioning), so one binary runs on any x86-64
// machine of a cluster and still uses the widest vectors it has. oneDNN picks its own kernels at
// run time. Builds with -DNSPBERT_NATIVE=ON compile everything for the build machine instead.
#if defined(__x86_64__) && !defined(NSPBERT_NATIVE) && defined(__GNUC__) && !defined(__clang__)
#define NSPBERT_ISA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__x86_64__) && !defined(NSPBERT_NATIVE) && defined(__clang__)
// clang 14 dispatches feature names, not x86-64-vN levels (the sanitizer and fuzzing builds).
#define NSPBERT_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NSPBERT_ISA_CLONES
#endif
