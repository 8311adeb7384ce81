#pragma once
// Row-wise normalisation: LayerNorm with gain and bias, or RoFormer v2's gain-free RMS norm.
#include <cstdint>
#include <vector>

#include "engine/encoder_spec.h"

namespace nspbert {

struct NormWeights {
  NormKind kind = NormKind::LayerNorm;
  std::vector<float> gain;  // empty for RmsNoGain
  std::vector<float> bias;  // empty for RmsNoGain
  float eps = 1e-12f;
};

// x: [rows][width] normalised in place (out may alias x).
void normalize_rows(const NormWeights& norm, const float* x, float* out, int64_t rows, int64_t width);

}  // namespace nspbert
