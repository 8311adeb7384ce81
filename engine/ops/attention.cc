#include "engine/ops/attention.h"

#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/attention_kernel.h"
#include "engine/ops/linear.h"

namespace nspbert {

namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

// Q K^T and P V for one sequence length, all heads at once, as strided views of the QKV buffer.
struct AttentionGemms {
  dnnl::matmul scores, mix;
  memory::desc q, k_transposed, probabilities, v, context;
};

// `queries` is n, or 1 when only each sequence's first row is needed.
const AttentionGemms& gemms_for(int64_t hidden, int64_t heads, int64_t n, int64_t queries) {
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, AttentionGemms> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(hidden, heads, n, queries);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const int64_t d = hidden / heads, stride = 3 * hidden;
  AttentionGemms g;
  g.q = memory::desc({heads, queries, d}, dt::f32, {d, stride, 1});
  g.k_transposed = memory::desc({heads, d, n}, dt::f32, {d, 1, stride});
  g.probabilities = memory::desc({heads, queries, n}, dt::f32, {queries * n, n, 1});
  g.v = memory::desc({heads, n, d}, dt::f32, {d, stride, 1});
  g.context = memory::desc({heads, queries, d}, dt::f32, {d, hidden, 1});
  g.scores = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.q, g.k_transposed, g.probabilities), cpu_engine()));
  g.mix = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(g.probabilities, g.v, g.context), cpu_engine()));
  return cache.emplace(key, std::move(g)).first->second;
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
  for (const SequenceRows& seq : layout.sequences) {
    const int64_t n = seq.rows;
    const int64_t queries = first_row_only ? 1 : n;
    const AttentionGemms& g = gemms_for(H, heads, n, queries);
    probabilities.resize(heads * queries * n);
    float* base = const_cast<float*>(qkv) + seq.first_row * 3 * H;
    memory q(g.q, cpu_engine(), base), k(g.k_transposed, cpu_engine(), base + H), v(g.v, cpu_engine(), base + 2 * H);
    memory p(g.probabilities, cpu_engine(), probabilities.data());
    memory out(g.context, cpu_engine(), context + seq.first_row * H);
    g.scores.execute(cpu_stream(), {{DNNL_ARG_SRC, q}, {DNNL_ARG_WEIGHTS, k}, {DNNL_ARG_DST, p}});
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
    g.mix.execute(cpu_stream(), {{DNNL_ARG_SRC, p}, {DNNL_ARG_WEIGHTS, v}, {DNNL_ARG_DST, out}});
    cpu_stream().wait();
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
