#pragma once
// Inner loops of attention and rotary embedding. Shape decisions live in attention.cc.
#include <cstdint>

namespace nspbert {

struct SoftmaxRows {
  float* scores = nullptr;       // [heads][queries][n] raw q.k, replaced by probabilities
  uint16_t* bf16_out = nullptr;  // optional: the probabilities also as bf16, same layout
  int64_t heads = 0;
  int64_t first_query = 0;             // the rows are queries first_query .. first_query + queries - 1
  int64_t queries = 0;                 // of the sequence
  int64_t n = 0;                       // keys
  const int64_t* positions = nullptr;  // [n]
  const uint8_t* is_key = nullptr;     // [n]
  int64_t window = 0;
  float scale = 1.0f;
};

struct SoftmaxEntropy {
  double sum = 0;
  int64_t count = 0;
};

// One fused pass per row: scale, hide non-keys and out-of-window keys, stable softmax, and
// (optionally) the row's entropy for valid query rows. A row that sees nothing gets zeros.
// Runs on the calling thread: attention is parallel over blocks of query rows.
SoftmaxEntropy masked_softmax_serial(const SoftmaxRows& rows, bool with_entropy);

// Rotates `parts` consecutive hidden-wide blocks of one row (q, k, and optionally v).
void rotate_row(float* row, int64_t parts, int64_t hidden, int64_t head_dim, int64_t position);

}  // namespace nspbert
