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
#include "engine/ops/quantize.h"
#include "engine/ops/scratchpad.h"

namespace nspbert {

namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

// bf16: Q K^T and P V for one sequence length, all heads at once, on head-major contiguous copies,
// which oneDNN runs on its brgemm kernels.
struct AttentionGemms {
  dnnl::matmul scores, mix;
  memory::desc q, k_transposed, scores_out, probabilities, v, context;
};

// `queries` is n, or 1 when only each sequence's first row is needed.
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

// Copies rows [0, rows) of one part (q, k or v) of a sequence's QKV rows into bf16 [head][row][d].
void gather_heads_bf16(const float* qkv_rows, int64_t part, int64_t rows, int64_t hidden, int64_t heads,
                       uint16_t* out) {
  const int64_t d = hidden / heads;
#pragma omp parallel for schedule(static)
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

// The softmax pass's view of one sequence's scores: [heads][queries][keys].
SoftmaxRows softmax_rows(const AttentionLayout& layout, const AttentionSettings& settings, const SequenceRows& seq,
                         float* scores, int64_t heads, int64_t queries, int64_t head_dim) {
  SoftmaxRows rows;
  rows.scores = scores;
  rows.heads = heads;
  rows.queries = queries;
  rows.n = seq.rows;
  rows.positions = layout.positions.data() + seq.first_row;
  rows.is_key = layout.is_key.data() + seq.first_row;
  rows.window = settings.window;
  rows.scale = static_cast<float>(logit_scale(settings, head_dim, seq.valid_length));
  return rows;
}

// f32: one task per (sequence, head) in a single parallel loop, each running two single-threaded
// sgemms on strided views of the QKV buffer with its softmax in between. Per sequence, batched
// over heads, many short sequences paid two primitive launches and three fork/joins each.
void attention_f32(const AttentionLayout& layout, const AttentionSettings& settings, const float* qkv, float* context,
                   AttentionEntropy* entropy, bool first_row_only) {
  const int64_t H = layout.hidden, heads = layout.heads, d = H / heads;
  const int64_t tasks = static_cast<int64_t>(layout.sequences.size()) * heads;
  double entropy_sum = 0;
  int64_t entropy_count = 0;
  bool failed = false;
#pragma omp parallel for schedule(static) reduction(+ : entropy_sum, entropy_count) reduction(|| : failed)
  for (int64_t task = 0; task < tasks; ++task) {
    const SequenceRows& seq = layout.sequences[task / heads];
    const int64_t h = task % heads, n = seq.rows, queries = first_row_only ? 1 : n;
    thread_local std::vector<float> scores;
    scores.resize(queries * n);
    const float* q = qkv + seq.first_row * 3 * H + h * d;
    failed |= dnnl::sgemm('N', 'T', queries, n, d, 1.0f, q, 3 * H, q + H, 3 * H, 0.0f, scores.data(), n) !=
              dnnl::status::success;
    const SoftmaxEntropy e =
        masked_softmax_serial(softmax_rows(layout, settings, seq, scores.data(), 1, queries, d), entropy != nullptr);
    entropy_sum += e.sum;
    entropy_count += e.count;
    failed |= dnnl::sgemm('N', 'N', queries, d, n, 1.0f, scores.data(), n, q + 2 * H, 3 * H, 0.0f,
                          context + seq.first_row * H + h * d, H) != dnnl::status::success;
  }
  if (failed) throw Error(ErrorKind::Internal, "oneDNN sgemm failed in attention");
  if (entropy) {
    entropy->sum += entropy_sum;
    entropy->count += entropy_count;
  }
}

}  // namespace

void self_attention(const AttentionLayout& layout, const AttentionSettings& settings, const float* qkv, float* context,
                    AttentionEntropy* entropy, bool first_row_only) {
  if (!settings.bf16_gemms) return attention_f32(layout, settings, qkv, context, entropy, first_row_only);
  const int64_t H = layout.hidden, heads = layout.heads, d = H / heads;
  thread_local std::vector<float> probabilities, head_major_context;
  thread_local std::vector<uint16_t> q16, k16, v16, p16;
  for (const SequenceRows& seq : layout.sequences) {
    const int64_t n = seq.rows;
    const int64_t queries = first_row_only ? 1 : n;
    const AttentionGemms& g = bf16_gemms_for(H, heads, n, queries);
    probabilities.resize(heads * queries * n);
    q16.resize(heads * queries * d);
    k16.resize(heads * n * d);
    v16.resize(heads * n * d);
    p16.resize(heads * queries * n);
    head_major_context.resize(heads * queries * d);
    const float* base = qkv + seq.first_row * 3 * H;
    gather_heads_bf16(base, 0, queries, H, heads, q16.data());
    gather_heads_bf16(base, 1, n, H, heads, k16.data());
    gather_heads_bf16(base, 2, n, H, heads, v16.data());
    memory q(g.q, cpu_engine(), q16.data()), k(g.k_transposed, cpu_engine(), k16.data()),
        v(g.v, cpu_engine(), v16.data());
    memory scores(g.scores_out, cpu_engine(), probabilities.data());
    memory out(g.context, cpu_engine(), head_major_context.data());
    g.scores.execute(cpu_stream(), {{DNNL_ARG_SRC, q},
                                    {DNNL_ARG_WEIGHTS, k},
                                    {DNNL_ARG_DST, scores},
                                    {DNNL_ARG_SCRATCHPAD, thread_scratchpad(g.scores, cpu_engine())}});
    cpu_stream().wait();

    const SoftmaxEntropy e = masked_softmax(
        softmax_rows(layout, settings, seq, probabilities.data(), heads, queries, d), entropy != nullptr);
    if (entropy) {
      entropy->sum += e.sum;
      entropy->count += e.count;
    }
    to_bf16(probabilities.data(), p16.data(), heads * queries * n);
    memory p(g.probabilities, cpu_engine(), p16.data());
    g.mix.execute(cpu_stream(), {{DNNL_ARG_SRC, p},
                                 {DNNL_ARG_WEIGHTS, v},
                                 {DNNL_ARG_DST, out},
                                 {DNNL_ARG_SCRATCHPAD, thread_scratchpad(g.mix, cpu_engine())}});
    cpu_stream().wait();
    // A strided destination would drop oneDNN to its slower gemm kernel; scatter instead.
    float* context_rows = context + seq.first_row * H;
    const float* head_major = head_major_context.data();  // thread_local: take it on this thread
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < queries; ++r)
      for (int64_t h = 0; h < heads; ++h)
        std::copy_n(head_major + (h * queries + r) * d, d, context_rows + r * H + h * d);
  }
}

void apply_rotary(const AttentionLayout& layout, float* qkv, int64_t rows, bool rotate_value) {
  const int64_t head_dim = layout.hidden / layout.heads;
  const int64_t parts = rotate_value ? 3 : 2;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = qkv + r * 3 * layout.hidden;
    rotate_row(row, parts, layout.hidden, head_dim, layout.positions[r]);
  }
}

}  // namespace nspbert
