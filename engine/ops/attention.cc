#include "engine/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/attention_kernel.h"
#include "engine/ops/linear.h"
#include "engine/ops/quantize.h"

namespace nspbert {

namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

// Q K^T and P V for one sequence length, all heads at once. f32: strided views straight into the
// QKV buffer. bf16: head-major contiguous copies, which oneDNN runs on its brgemm kernels.
struct AttentionGemms {
  dnnl::matmul scores, mix;
  memory::desc q, k_transposed, scores_out, probabilities, v, context;
};

// `queries` is n, or 1 when only each sequence's first row is needed.
const AttentionGemms& gemms_for(int64_t hidden, int64_t heads, int64_t n, int64_t queries, bool bf16) {
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, AttentionGemms> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(hidden, heads, n, queries, bf16);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const int64_t d = hidden / heads, stride = 3 * hidden;
  AttentionGemms g;
  g.scores_out = memory::desc({heads, queries, n}, dt::f32, {queries * n, n, 1});
  g.context = memory::desc({heads, queries, d}, dt::f32, {d, hidden, 1});
  if (bf16) {
    g.q = memory::desc({heads, queries, d}, dt::bf16, {queries * d, d, 1});
    g.k_transposed = memory::desc({heads, d, n}, dt::bf16, {n * d, 1, d});  // K stored [head][key][d]
    g.probabilities = memory::desc({heads, queries, n}, dt::bf16, {queries * n, n, 1});
    g.v = memory::desc({heads, n, d}, dt::bf16, {n * d, d, 1});
    g.context = memory::desc({heads, queries, d}, dt::f32, {queries * d, d, 1});  // scattered after
  } else {
    g.q = memory::desc({heads, queries, d}, dt::f32, {d, stride, 1});
    g.k_transposed = memory::desc({heads, d, n}, dt::f32, {d, 1, stride});
    g.probabilities = g.scores_out;
    g.v = memory::desc({heads, n, d}, dt::f32, {d, stride, 1});
  }
  g.scores = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.q, g.k_transposed, g.scores_out), cpu_engine()));
  g.mix = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.probabilities, g.v, g.context), cpu_engine()));
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

}  // namespace

void self_attention(const AttentionLayout& layout, const AttentionSettings& settings, const float* qkv,
                    float* context, AttentionEntropy* entropy, bool first_row_only) {
  const int64_t H = layout.hidden, heads = layout.heads, d = H / heads;
  thread_local std::vector<float> probabilities;
  thread_local std::vector<uint16_t> q16, k16, v16, p16;
  thread_local std::vector<float> head_major_context;
  for (const SequenceRows& seq : layout.sequences) {
    const int64_t n = seq.rows;
    const int64_t queries = first_row_only ? 1 : n;
    const bool bf16 = settings.bf16_gemms;
    const AttentionGemms& g = gemms_for(H, heads, n, queries, bf16);
    probabilities.resize(heads * queries * n);
    const float* base = qkv + seq.first_row * 3 * H;
    void *q_data = const_cast<float*>(base), *k_data = const_cast<float*>(base + H), *v_data = const_cast<float*>(base + 2 * H);
    if (bf16) {
      q16.resize(heads * queries * d);
      k16.resize(heads * n * d);
      v16.resize(heads * n * d);
      p16.resize(heads * queries * n);
      gather_heads_bf16(base, 0, queries, H, heads, q16.data());
      gather_heads_bf16(base, 1, n, H, heads, k16.data());
      gather_heads_bf16(base, 2, n, H, heads, v16.data());
      q_data = q16.data();
      k_data = k16.data();
      v_data = v16.data();
    }
    memory q(g.q, cpu_engine(), q_data), k(g.k_transposed, cpu_engine(), k_data), v(g.v, cpu_engine(), v_data);
    memory scores(g.scores_out, cpu_engine(), probabilities.data());
    float* context_rows = context + seq.first_row * H;
    if (bf16) head_major_context.resize(heads * queries * d);
    memory out(g.context, cpu_engine(), bf16 ? head_major_context.data() : context_rows);
    g.scores.execute(cpu_stream(), {{DNNL_ARG_SRC, q}, {DNNL_ARG_WEIGHTS, k}, {DNNL_ARG_DST, scores}});
    cpu_stream().wait();

    SoftmaxRows rows;
    rows.scores = probabilities.data();
    rows.heads = heads;
    rows.queries = queries;
    rows.n = n;
    rows.positions = layout.positions.data() + seq.first_row;
    rows.is_key = layout.is_key.data() + seq.first_row;
    rows.window = settings.window;
    rows.scale = static_cast<float>(logit_scale(settings, d, seq.valid_length));
    const SoftmaxEntropy e = masked_softmax(rows, entropy != nullptr);
    if (entropy) {
      entropy->sum += e.sum;
      entropy->count += e.count;
    }
    memory p = scores;
    if (bf16) {
      to_bf16(probabilities.data(), p16.data(), heads * queries * n);
      p = memory(g.probabilities, cpu_engine(), p16.data());
    }
    g.mix.execute(cpu_stream(), {{DNNL_ARG_SRC, p}, {DNNL_ARG_WEIGHTS, v}, {DNNL_ARG_DST, out}});
    cpu_stream().wait();
    if (bf16) {
      // A strided destination would drop oneDNN to its slower gemm kernel; scatter instead.
      const float* head_major = head_major_context.data();  // thread_local: take it on this thread
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < queries; ++r)
        for (int64_t h = 0; h < heads; ++h)
          std::copy_n(head_major + (h * queries + r) * d, d, context_rows + r * H + h * d);
    }
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
