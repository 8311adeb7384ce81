#pragma once
// Multi-head self-attention over packed rows: each sequence attends only within itself, at its own
// length, so padding costs nothing. Work is split into blocks of up to 64 query rows, one task each
// in a single parallel loop (f32: per sequence, head and block on strided views of the fused QKV
// buffer; bf16: per sequence and block, all heads at once on head-major copies), so no T x T
// matrix is held per head and a block's scores stay in cache. attention_kernel.cc holds the fused
// scale + mask + window + softmax pass between the two GEMMs.
#include <cstdint>
#include <vector>

namespace nspbert {

struct SequenceRows {
  int64_t first_row = 0;     // index of the sequence's first packed row
  int64_t rows = 0;          // packed rows of this sequence
  int64_t valid_length = 0;  // tokens with attention_mask 1 (the n of log-n scaling)
};

struct AttentionLayout {
  int64_t hidden = 0;
  int64_t heads = 0;
  std::vector<SequenceRows> sequences;
  std::vector<int64_t> positions;  // per packed row
  std::vector<uint8_t> is_key;     // per packed row: 0 for a padded row kept only as a query
};

struct AttentionSettings {
  int64_t window = 0;      // > 0: |pos_i - pos_j| <= window
  double logn_base = 0.0;  // > 1: logits times log(n)/log(logn_base)
  bool logn_at_least_one = false;
  // Q K^T and P V in bf16 (f32 accumulation, softmax still f32): what the bf16 and int8 precisions
  // use, since f32 attention GEMMs would be a fifth of their time.
  bool bf16_gemms = false;
};

struct AttentionEntropy {
  double sum = 0;  // over heads and valid query rows of -sum p log p
  int64_t count = 0;
};

// qkv: [rows][3*hidden] as q | k | v. context: [rows][hidden]. With first_row_only, only each
// sequence's first row ([CLS]) is computed as a query (keys and values still cover every row).
void self_attention(const AttentionLayout& layout, const AttentionSettings& settings, const float* qkv, float* context,
                    AttentionEntropy* entropy = nullptr, bool first_row_only = false);

// RoFormer rotary embedding in place on q and k (and v when rotate_value), pairs (2i, 2i+1).
void apply_rotary(const AttentionLayout& layout, float* qkv, int64_t rows, bool rotate_value);

}  // namespace nspbert
