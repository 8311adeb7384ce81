#include "engine/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

#include "engine/error.h"
#include "engine/ops/attention_kernel.h"
#include "engine/ops/linear.h"
#include "engine/ops/op_profile.h"
#include "engine/ops/quantize.h"
#include "engine/ops/scratchpad.h"

namespace nspbert {

namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

// Attention runs in blocks of query rows: each block's scores cover every key, so its softmax is
// exact in one pass, and a block's scores ([heads x] 64 x n) stay in cache where a whole
// sequence's (12 x 512 x 512 floats at T = 512) would not. No T x T matrix per head is ever held.
constexpr int64_t kQueryBlock = 64;

// One unit of work: a block of query rows of one sequence (and, for f32, one head).
struct QueryBlock {
  int64_t sequence = 0, head = 0, first_query = 0, queries = 0;
};

std::vector<QueryBlock> query_blocks(const AttentionLayout& layout, bool first_row_only, bool per_head) {
  std::vector<QueryBlock> blocks;
  const int64_t heads = per_head ? layout.heads : 1;
  for (int64_t s = 0; s < static_cast<int64_t>(layout.sequences.size()); ++s) {
    const int64_t queries = first_row_only ? 1 : layout.sequences[s].rows;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t q0 = 0; q0 < queries; q0 += kQueryBlock)
        blocks.push_back({s, h, q0, std::min(kQueryBlock, queries - q0)});
  }
  return blocks;
}

// bf16: Q K^T and P V for one block shape, all heads at once, on head-major contiguous copies,
// which oneDNN runs on its brgemm kernels.
struct AttentionGemms {
  dnnl::matmul scores, mix;
  memory::desc q, k_transposed, scores_out, probabilities, v, context;
};

const AttentionGemms& bf16_gemms_for(int64_t hidden, int64_t heads, int64_t n, int64_t queries) {
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, AttentionGemms> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(hidden, heads, n, queries);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const int64_t d = hidden / heads;
  AttentionGemms g;
  g.scores_out = memory::desc({heads, queries, n}, dt::f32, {queries * n, n, 1});
  g.q = memory::desc({heads, queries, d}, dt::bf16, {queries * d, d, 1});
  g.k_transposed = memory::desc({heads, d, n}, dt::bf16, {n * d, 1, d});  // K stored [head][key][d]
  g.probabilities = memory::desc({heads, queries, n}, dt::bf16, {queries * n, n, 1});
  g.v = memory::desc({heads, n, d}, dt::bf16, {n * d, d, 1});
  g.context = memory::desc({heads, queries, d}, dt::f32, {queries * d, d, 1});  // scattered after
  // Shared by every thread (and model): each execution brings its thread's scratchpad (scratchpad.h).
  g.scores = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.q, g.k_transposed, g.scores_out),
                                                       user_scratchpad_attr(), cpu_engine()));
  g.mix = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.probabilities, g.v, g.context),
                                                    user_scratchpad_attr(), cpu_engine()));
  return cache.emplace(key, std::move(g)).first->second;
}

// Copies `rows` rows of one part (q, k or v) of QKV rows into bf16 [head][row][d].
void gather_heads_bf16(const float* qkv_rows, int64_t part, int64_t rows, int64_t hidden, int64_t heads,
                       uint16_t* out) {
  const int64_t d = hidden / heads;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t h = 0; h < heads; ++h)
      to_bf16_serial(qkv_rows + r * 3 * hidden + part * hidden + h * d, out + (h * rows + r) * d, d);
}

double logit_scale(const AttentionSettings& s, int64_t head_dim, int64_t valid_length) {
  double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  if (s.logn_base > 1.0) {
    double factor = std::log(static_cast<double>(std::max<int64_t>(valid_length, 1))) / std::log(s.logn_base);
    if (s.logn_at_least_one) factor = std::max(1.0, factor);
    scale *= factor;
  }
  return scale;
}

// The softmax pass's view of one block's scores: [heads][queries][keys].
SoftmaxRows softmax_rows(const AttentionLayout& layout, const AttentionSettings& settings, const SequenceRows& seq,
                         const QueryBlock& block, float* scores, int64_t heads, int64_t head_dim) {
  SoftmaxRows rows;
  rows.scores = scores;
  rows.heads = heads;
  rows.first_query = block.first_query;
  rows.queries = block.queries;
  rows.n = seq.rows;
  rows.positions = layout.positions.data() + seq.first_row;
  rows.is_key = layout.is_key.data() + seq.first_row;
  rows.window = settings.window;
  rows.scale = static_cast<float>(logit_scale(settings, head_dim, seq.valid_length));
  return rows;
}

// f32: one task per (sequence, head, query block), each running two single-threaded sgemms on
// strided views of the QKV buffer with its softmax in between: one fork/join per layer.
SoftmaxEntropy attention_f32_block(const AttentionLayout& layout, const AttentionSettings& settings,
                                   const QueryBlock& block, const float* qkv, float* context, bool with_entropy) {
  const int64_t H = layout.hidden, d = H / layout.heads;
  const SequenceRows& seq = layout.sequences[block.sequence];
  const int64_t n = seq.rows;
  thread_local std::vector<float> scores;
  scores.resize(block.queries * n);
  const float* keys = qkv + seq.first_row * 3 * H + H + block.head * d;
  const float* q = qkv + (seq.first_row + block.first_query) * 3 * H + block.head * d;
  bool ok = dnnl::sgemm('N', 'T', block.queries, n, d, 1.0f, q, 3 * H, keys, 3 * H, 0.0f, scores.data(), n) ==
            dnnl::status::success;
  const SoftmaxEntropy e =
      masked_softmax_serial(softmax_rows(layout, settings, seq, block, scores.data(), 1, d), with_entropy);
  ok &= dnnl::sgemm('N', 'N', block.queries, d, n, 1.0f, scores.data(), n, keys + H, 3 * H, 0.0f,
                    context + (seq.first_row + block.first_query) * H + block.head * d, H) == dnnl::status::success;
  if (!ok) throw Error(ErrorKind::Internal, "oneDNN sgemm failed in attention");
  return e;
}

// bf16: one task per (sequence, query block), all heads at once; keys and values were converted
// for the whole batch beforehand (`k16`, `v16`: per sequence [head][key][d] at 2 x first_row x H).
SoftmaxEntropy attention_bf16_block(const AttentionLayout& layout, const AttentionSettings& settings,
                                    const QueryBlock& block, const float* qkv, const uint16_t* kv16, float* context,
                                    bool with_entropy) {
  const int64_t H = layout.hidden, heads = layout.heads, d = H / heads;
  const SequenceRows& seq = layout.sequences[block.sequence];
  const int64_t n = seq.rows, B = block.queries;
  const AttentionGemms& g = bf16_gemms_for(H, heads, n, B);
  thread_local std::vector<float> scores, head_major_context;
  thread_local std::vector<uint16_t> q16, p16;
  thread_local dnnl::stream stream(cpu_engine());  // executions from several threads at once
  scores.resize(heads * B * n);
  p16.resize(heads * B * n);
  q16.resize(heads * B * d);
  head_major_context.resize(heads * B * d);
  gather_heads_bf16(qkv + (seq.first_row + block.first_query) * 3 * H, 0, B, H, heads, q16.data());
  const uint16_t* k16 = kv16 + 2 * seq.first_row * H;
  memory q(g.q, cpu_engine(), q16.data()), k(g.k_transposed, cpu_engine(), const_cast<uint16_t*>(k16)),
      v(g.v, cpu_engine(), const_cast<uint16_t*>(k16 + n * H)), s(g.scores_out, cpu_engine(), scores.data()),
      p(g.probabilities, cpu_engine(), p16.data()), out(g.context, cpu_engine(), head_major_context.data());
  g.scores.execute(stream, {{DNNL_ARG_SRC, q},
                            {DNNL_ARG_WEIGHTS, k},
                            {DNNL_ARG_DST, s},
                            {DNNL_ARG_SCRATCHPAD, thread_scratchpad(g.scores, cpu_engine())}});
  SoftmaxRows rows = softmax_rows(layout, settings, seq, block, scores.data(), heads, d);
  rows.bf16_out = p16.data();  // P V reads bf16: written by the softmax, not by a second pass
  const SoftmaxEntropy e = masked_softmax_serial(rows, with_entropy);
  g.mix.execute(stream, {{DNNL_ARG_SRC, p},
                         {DNNL_ARG_WEIGHTS, v},
                         {DNNL_ARG_DST, out},
                         {DNNL_ARG_SCRATCHPAD, thread_scratchpad(g.mix, cpu_engine())}});
  stream.wait();
  // A strided destination would drop oneDNN to its slower gemm kernel; scatter instead.
  float* context_rows = context + (seq.first_row + block.first_query) * H;
  for (int64_t r = 0; r < B; ++r)
    for (int64_t h = 0; h < heads; ++h)
      std::copy_n(head_major_context.data() + (h * B + r) * d, d, context_rows + r * H + h * d);
  return e;
}

// Keys and values of every sequence in bf16, [sequence][k|v][head][key][d], one pass over the batch.
void convert_keys_values(const AttentionLayout& layout, const float* qkv, std::vector<uint16_t>& kv16) {
  const int64_t H = layout.hidden, heads = layout.heads;
  const auto& sequences = layout.sequences;
  kv16.resize(2 * (sequences.back().first_row + sequences.back().rows) * H);
#pragma omp parallel for schedule(static) collapse(2)
  for (size_t s = 0; s < sequences.size(); ++s)
    for (int64_t part = 1; part <= 2; ++part) {
      const SequenceRows& seq = sequences[s];
      uint16_t* out = kv16.data() + 2 * seq.first_row * H + (part - 1) * seq.rows * H;
      gather_heads_bf16(qkv + seq.first_row * 3 * H, part, seq.rows, H, heads, out);
    }
}

}  // namespace

void self_attention(const AttentionLayout& layout, const AttentionSettings& settings, const float* qkv, float* context,
                    AttentionEntropy* entropy, bool first_row_only) {
  OpTimer timer(OpKind::Attention);
  if (layout.sequences.empty()) return;
  const std::vector<QueryBlock> blocks = query_blocks(layout, first_row_only, !settings.bf16_gemms);
  thread_local std::vector<uint16_t> kv16;
  if (settings.bf16_gemms) convert_keys_values(layout, qkv, kv16);
  const uint16_t* keys_values = kv16.data();  // thread_local: take it on this thread
  const bool with_entropy = entropy != nullptr;
  // Per block, summed in block order afterwards: a reduction over a dynamic schedule would add in
  // a different order each run and the statistics would change in the last digit.
  std::vector<SoftmaxEntropy> block_entropy(with_entropy ? blocks.size() : 0);
  bool failed = false;
#pragma omp parallel for schedule(dynamic) reduction(|| : failed)
  for (size_t b = 0; b < blocks.size(); ++b) {
    try {
      const SoftmaxEntropy e =
          settings.bf16_gemms
              ? attention_bf16_block(layout, settings, blocks[b], qkv, keys_values, context, with_entropy)
              : attention_f32_block(layout, settings, blocks[b], qkv, context, with_entropy);
      if (with_entropy) block_entropy[b] = e;
    } catch (...) {  // an exception must not leave an OpenMP region
      failed = true;
    }
  }
  if (failed) throw Error(ErrorKind::Internal, "a oneDNN kernel failed in attention");
  for (const SoftmaxEntropy& e : block_entropy) {
    entropy->sum += e.sum;
    entropy->count += e.count;
  }
}

void apply_rotary(const AttentionLayout& layout, float* qkv, int64_t rows, bool rotate_value) {
  OpTimer timer(OpKind::Rotary);
  const int64_t head_dim = layout.hidden / layout.heads;
  const int64_t parts = rotate_value ? 3 : 2;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = qkv + r * 3 * layout.hidden;
    rotate_row(row, parts, layout.hidden, head_dim, layout.positions[r]);
  }
}

}  // namespace nspbert
