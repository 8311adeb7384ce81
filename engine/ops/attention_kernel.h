#pragma once
// Inner loops of attention and rotary embedding. Shape decisions live in attention.cc.
#include <cstdint>
#include <vector>

namespace nspbert {

struct HeadTask {
  const float* qkv = nullptr;
  float* context = nullptr;
  int64_t row_stride = 0;  // floats between consecutive rows of qkv
  int64_t hidden = 0;
  int64_t head_dim = 0;
  int64_t head = 0;
  int64_t first_row = 0;
  int64_t rows = 0;
  const int64_t* positions = nullptr;
  const uint8_t* is_key = nullptr;
  int64_t window = 0;
  float scale = 1.0f;
  const std::vector<int64_t>* query_rows = nullptr;
};

// One (sequence, head): fused scale + mask + window + stable softmax + weighted sum of values.
void attend_one_head(const HeadTask& task, double* entropy_sum, int64_t* entropy_count);

// Rotates `parts` consecutive hidden-wide blocks of one row (q, k, and optionally v).
void rotate_row(float* row, int64_t parts, int64_t hidden, int64_t head_dim, int64_t position);

}  // namespace nspbert
