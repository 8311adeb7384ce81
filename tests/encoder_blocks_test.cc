// Every block of the encoder (engine/encoder_blocks.h) against a plain C++ loop written here from
// the formulas, never from the code under test, as tests/ops_test.cc does for the ops.
#include "engine/encoder_blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/error.h"

using namespace nspbert;

namespace {

using Matrix = std::vector<double>;  // row-major

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// y[r] = W x[r] + b, W: [out][in].
Matrix ref_linear(const Matrix& x, int64_t rows, int64_t in, const std::vector<float>& w, const std::vector<float>& b) {
  const int64_t out = static_cast<int64_t>(w.size()) / in;
  Matrix y(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
  return y;
}

Matrix ref_layer_norm(const Matrix& x, int64_t width, const std::vector<float>& gain, const std::vector<float>& bias,
                      double eps) {
  Matrix y(x.size());
  for (size_t r = 0; r < x.size() / width; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < width; ++i) mean += x[r * width + i];
    mean /= width;
    for (int64_t i = 0; i < width; ++i) var += (x[r * width + i] - mean) * (x[r * width + i] - mean);
    var /= width;
    for (int64_t i = 0; i < width; ++i)
      y[r * width + i] = (x[r * width + i] - mean) / std::sqrt(var + eps) * gain[i] + bias[i];
  }
  return y;
}

Matrix add(const Matrix& a, const Matrix& b, double alpha = 1.0) {
  Matrix y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = alpha * a[i] + b[i];
  return y;
}

Matrix widen(const float* x, int64_t n) { return Matrix(x, x + n); }

void expect_close(const float* got, const Matrix& want, double tol, const char* what) {
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << what << " at " << i;
}

NormWeights layer_norm_weights(int64_t width, uint32_t seed) {
  NormWeights n;
  n.kind = NormKind::LayerNorm;
  n.eps = 1e-12f;
  n.gain = random_vector(width, seed, 0.2f, 1.0f);
  n.bias = random_vector(width, seed + 1, 0.05f);
  return n;
}

// One layer's weights, kept both as plain matrices (for the loops) and bound (for the blocks).
struct PlainLayer {
  int64_t H, I;
  std::vector<float> wq, wk, wv, bq, bk, bv, wo, bo, w1, b1, w2, b2;
  NormWeights attention_norm, ffn_norm;

  PlainLayer(int64_t hidden, int64_t intermediate, uint32_t seed) : H(hidden), I(intermediate) {
    wq = random_vector(H * H, seed + 1, 0.3f), wk = random_vector(H * H, seed + 2, 0.3f);
    wv = random_vector(H * H, seed + 3, 0.3f), wo = random_vector(H * H, seed + 4, 0.3f);
    bq = random_vector(H, seed + 5, 0.05f), bk = random_vector(H, seed + 6, 0.05f);
    bv = random_vector(H, seed + 7, 0.05f), bo = random_vector(H, seed + 8, 0.05f);
    w1 = random_vector(I * H, seed + 9, 0.3f), b1 = random_vector(I, seed + 10, 0.05f);
    w2 = random_vector(H * I, seed + 11, 0.3f), b2 = random_vector(H, seed + 12, 0.05f);
    attention_norm = layer_norm_weights(H, seed + 13);
    ffn_norm = layer_norm_weights(H, seed + 15);
  }

  LayerWeights bound() const {
    LayerWeights w;
    std::vector<float> qkv_w(wq), qkv_b(bq);
    qkv_w.insert(qkv_w.end(), wk.begin(), wk.end());
    qkv_w.insert(qkv_w.end(), wv.begin(), wv.end());
    qkv_b.insert(qkv_b.end(), bk.begin(), bk.end());
    qkv_b.insert(qkv_b.end(), bv.begin(), bv.end());
    w.qkv = Linear(H, 3 * H, qkv_w, qkv_b);
    w.attention_out = Linear(H, H, wo, bo);
    w.ffn_in = Linear(H, I, w1, b1, Activation::GeluErf);
    w.ffn_out = Linear(I, H, w2, b2);
    w.attention_norm = attention_norm;
    w.ffn_norm = ffn_norm;
    return w;
  }

  // Multi-head softmax attention within each sequence [begin, end) of rows, then W_o.
  Matrix attention(const Matrix& x, const std::vector<std::pair<int64_t, int64_t>>& sequences, int64_t heads) const {
    const int64_t rows = static_cast<int64_t>(x.size()) / H, d = H / heads;
    const Matrix q = ref_linear(x, rows, H, wq, bq), k = ref_linear(x, rows, H, wk, bk),
                 v = ref_linear(x, rows, H, wv, bv);
    Matrix context(rows * H, 0.0);
    for (const auto& [begin, end] : sequences)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = begin; i < end; ++i) {
          std::vector<double> p;
          double max = -INFINITY, total = 0;
          for (int64_t j = begin; j < end; ++j) {
            double s = 0;
            for (int64_t c = 0; c < d; ++c) s += q[i * H + h * d + c] * k[j * H + h * d + c];
            p.push_back(s / std::sqrt(static_cast<double>(d)));
            max = std::max(max, p.back());
          }
          for (double& s : p) total += (s = std::exp(s - max));
          for (int64_t j = begin; j < end; ++j)
            for (int64_t c = 0; c < d; ++c) context[i * H + h * d + c] += p[j - begin] / total * v[j * H + h * d + c];
        }
    return ref_linear(context, rows, H, wo, bo);
  }

  Matrix ffn(const Matrix& x) const {
    const int64_t rows = static_cast<int64_t>(x.size()) / H;
    Matrix hidden = ref_linear(x, rows, H, w1, b1);
    for (double& v : hidden) v = gelu(v);
    return ref_linear(hidden, rows, I, w2, b2);
  }
};

// Two sequences of 5 and 3 tokens, every token attended.
EncoderInput two_sequences(int64_t vocab) {
  EncoderInput in;
  in.batch = 2;
  in.seq_len = 5;
  for (int i = 0; i < 10; ++i) in.ids.push_back((3 + 7 * i) % vocab);
  in.type_ids = {0, 0, 0, 1, 1, 0, 0, 1, 0, 0};
  in.attention_mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  return in;
}

EncoderSpec small_spec(int64_t hidden, int64_t embedding, NormPlacement placement) {
  EncoderSpec spec;
  spec.vocab_size = 40;
  spec.hidden = hidden;
  spec.embedding_size = embedding;
  spec.layers = 1;
  spec.heads = 2;
  spec.intermediate = 2 * hidden;
  spec.type_vocab_size = 2;
  spec.max_positions = 16;
  spec.norm_placement = placement;
  return spec;
}

}  // namespace

TEST(EncoderBlocks, PackBatchKeepsAttendedRowsAndEachFirstRow) {
  EncoderInput in;
  in.batch = 2;
  in.seq_len = 4;
  in.ids = std::vector<int32_t>(8, 1);
  in.attention_mask = {1, 1, 0, 0, 0, 1, 1, 0};  // the second row's [CLS] slot is masked
  const PackedBatch p = pack_batch(in, small_spec(8, 8, NormPlacement::Post));
  EXPECT_EQ(p.rows, 5);
  EXPECT_EQ(p.source, (std::vector<int64_t>{0, 1, 4, 5, 6}));
  EXPECT_EQ(p.layout.is_key, (std::vector<uint8_t>{1, 1, 0, 1, 1}));
  EXPECT_EQ(p.layout.positions, (std::vector<int64_t>{0, 1, 0, 1, 2}));
  ASSERT_EQ(p.layout.sequences.size(), 2u);
  EXPECT_EQ(p.layout.sequences[1].first_row, 2);
  EXPECT_EQ(p.layout.sequences[1].rows, 3);
  EXPECT_EQ(p.layout.sequences[1].valid_length, 2);
  in.attention_mask = {1, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(pack_batch(in, small_spec(8, 8, NormPlacement::Post)), Error);
}

TEST(EncoderBlocks, EmbedSumsTablesThenNormsAndProjects) {
  const int64_t E = 6, H = 8;
  const EncoderSpec spec = small_spec(H, E, NormPlacement::Post);
  EncoderWeights w;
  w.word_embeddings = random_vector(spec.vocab_size * E, 1);
  w.type_embeddings = random_vector(2 * E, 2);
  w.position_embeddings = random_vector(spec.max_positions * E, 3);
  w.embedding_norm = layer_norm_weights(E, 4);
  const std::vector<float> wp = random_vector(H * E, 6, 0.3f), bp = random_vector(H, 7, 0.05f);
  w.embedding_projection = Linear(E, H, wp, bp);
  const EncoderInput in = two_sequences(spec.vocab_size);
  const PackedBatch p = pack_batch(in, spec);
  ForwardScratch scratch;
  const float* x = embed(spec, w, in, p, scratch);

  Matrix sums;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 5; ++t) {
      const int64_t i = b * 5 + t;
      if (!in.attention_mask[i]) continue;  // packed rows: the attended tokens, in order
      for (int64_t c = 0; c < E; ++c)
        sums.push_back(double(w.word_embeddings[in.ids[i] * E + c]) + w.type_embeddings[in.type_ids[i] * E + c] +
                       w.position_embeddings[t * E + c]);
    }
  const int64_t rows = static_cast<int64_t>(sums.size()) / E;
  ASSERT_EQ(rows, p.rows);
  const Matrix want =
      ref_linear(ref_layer_norm(sums, E, w.embedding_norm->gain, w.embedding_norm->bias, 1e-12), rows, E, wp, bp);
  expect_close(x, want, 1e-4, "x_0");

  // Rotary models add no position table.
  EncoderSpec rotary = spec;
  rotary.position_kind = PositionKind::Rotary;
  w.embedding_projection.reset();
  rotary.embedding_size = rotary.hidden = E;
  w.embedding_norm.reset();
  const float* y = embed(rotary, w, in, p, scratch);
  EXPECT_NEAR(y[0], double(w.word_embeddings[in.ids[0] * E]) + w.type_embeddings[0], 1e-6);
}

// attention_block then ffn_block, for both placements and the DeepNorm residual scale, against
// x <- Norm(alpha x + F(x)) (post) and x <- alpha x + F(Norm(x)) (pre) written out with loops.
TEST(EncoderBlocks, LayerBlocksMatchLoopsForEveryPlacement) {
  const int64_t H = 8;
  const PlainLayer plain(H, 16, 100);
  const LayerWeights layer = plain.bound();
  for (const NormPlacement placement : {NormPlacement::Post, NormPlacement::Pre})
    for (const float alpha : {1.0f, 1.5f}) {
      SCOPED_TRACE(std::string(norm_placement_name(placement)) + " alpha " + std::to_string(alpha));
      const EncoderSpec spec = small_spec(H, H, placement);
      EncoderWeights weights;
      weights.layers.push_back(layer);
      const EncoderInput in = two_sequences(spec.vocab_size);
      const PackedBatch p = pack_batch(in, spec);
      ASSERT_EQ(p.rows, 8);
      ForwardScratch scratch;
      const std::vector<float> x0 = random_vector(Linear::padded_rows(p.rows) * H, 200);
      std::vector<float> x(x0);
      const LayerContext c = layer_context(spec, weights, p, placement, alpha, scratch);
      StreamRows stream{x.data(), p.rows};
      stream = attention_block(layer, c, layer_attention({}, layer, true), stream, false, nullptr, scratch);
      ASSERT_EQ(stream.x, x.data());
      const std::vector<float> after_attention(x.begin(), x.begin() + p.rows * H);
      ffn_block(layer, c, stream);

      const std::vector<std::pair<int64_t, int64_t>> sequences{{0, 5}, {5, 8}};
      const auto norm = [&](const Matrix& m, const NormWeights& n) {
        return ref_layer_norm(m, H, n.gain, n.bias, 1e-12);
      };
      const Matrix in_rows = widen(x0.data(), p.rows * H);
      Matrix a, y;
      if (placement == NormPlacement::Post) {
        a = norm(add(in_rows, plain.attention(in_rows, sequences, 2), alpha), plain.attention_norm);
        y = norm(add(a, plain.ffn(a), alpha), plain.ffn_norm);
      } else {
        a = add(in_rows, plain.attention(norm(in_rows, plain.attention_norm), sequences, 2), alpha);
        y = add(a, plain.ffn(norm(a, plain.ffn_norm)), alpha);
      }
      expect_close(after_attention.data(), a, 2e-4, "after attention");
      expect_close(x.data(), y, 2e-4, "after ffn");

      // [CLS]-only: every row still a key, only the first row of each sequence a query; the
      // stream becomes those rows, equal to the full computation's.
      std::vector<float> z(x0);
      StreamRows cls{z.data(), p.rows};
      cls = attention_block(layer, c, layer_attention({}, layer, true), cls, true, nullptr, scratch);
      ASSERT_EQ(cls.rows, 2);
      ffn_block(layer, c, cls);
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t i = 0; i < H; ++i) ASSERT_NEAR(cls.x[b * H + i], y[sequences[b].first * H + i], 2e-4);
    }
}

TEST(EncoderBlocks, LayerAttentionAppliesWindowAndLognPerLayer) {
  const LayerWeights layer = PlainLayer(8, 16, 1).bound();
  AttentionOptions o;
  o.window = 4;
  o.logn_base = 64;
  AttentionSettings s = layer_attention(o, layer, false);
  EXPECT_EQ(s.window, 4);
  EXPECT_EQ(s.logn_base, 64);
  o.hwfa = true;  // window in all but the last layer, log-n only in the last
  s = layer_attention(o, layer, false);
  EXPECT_EQ(s.window, 4);
  EXPECT_EQ(s.logn_base, 0);
  s = layer_attention(o, layer, true);
  EXPECT_EQ(s.window, 0);
  EXPECT_EQ(s.logn_base, 64);
  EXPECT_FALSE(s.bf16_gemms);
}

TEST(EncoderBlocks, FinalNormOnlyForPreNorm) {
  const int64_t H = 8;
  EncoderWeights w;
  w.final_norm = layer_norm_weights(H, 9);
  w.layers.push_back(PlainLayer(H, 16, 3).bound());
  const std::vector<float> x0 = random_vector(2 * H, 11);
  std::vector<float> x(x0);
  final_norm(w, NormPlacement::Post, false, {x.data(), 2}, H);
  EXPECT_EQ(x, x0);
  final_norm(w, NormPlacement::Pre, false, {x.data(), 2}, H);
  expect_close(x.data(), ref_layer_norm(widen(x0.data(), 2 * H), H, w.final_norm->gain, w.final_norm->bias, 1e-12),
               1e-5, "final norm");
  // A post-norm checkpoint run as pre-norm has no final norm: its last layer's output norm stands in.
  w.final_norm.reset();
  x = x0;
  final_norm(w, NormPlacement::Pre, true, {x.data(), 2}, H);
  const NormWeights& last = w.layers.back().ffn_norm;
  expect_close(x.data(), ref_layer_norm(widen(x0.data(), 2 * H), H, last.gain, last.bias, 1e-12), 1e-5, "swapped");
}

TEST(EncoderBlocks, PooledHeadsMatchLoops) {
  const int64_t H = 8, B = 3, C = 4;
  EncoderWeights w;
  const std::vector<float> wp = random_vector(H * H, 1, 0.4f), bp = random_vector(H, 2, 0.1f);
  const std::vector<float> ws = random_vector(2 * H, 3, 0.4f), bs = random_vector(2, 4, 0.1f);
  const std::vector<float> wc = random_vector(C * H, 5, 0.4f), bc = random_vector(C, 6, 0.1f);
  w.pooler = Linear(H, H, wp, bp);
  w.nsp = Linear(H, 2, ws, bs);
  w.classifier = Linear(H, C, wc, bc);
  std::vector<float> cls = random_vector(Linear::padded_rows(B) * H, 7);
  ForwardRequest req;
  req.want_pooled = req.want_nsp = req.want_classifier = true;
  EncoderOutput out;
  pooled_heads(w, cls, B, H, req, out);
  Matrix pooled = ref_linear(widen(cls.data(), B * H), B, H, wp, bp);
  for (double& v : pooled) v = std::tanh(v);
  expect_close(out.pooled.data(), pooled, 1e-5, "pooled");
  ASSERT_EQ(out.nsp_logits.size(), size_t(B * 2));
  expect_close(out.nsp_logits.data(), ref_linear(pooled, B, H, ws, bs), 1e-5, "nsp");
  ASSERT_EQ(out.classifier_logits.size(), size_t(B * C));
  expect_close(out.classifier_logits.data(), ref_linear(pooled, B, H, wc, bc), 1e-5, "classifier");
}

TEST(EncoderBlocks, MlmHeadMatchesLoopsForBothKinds) {
  const int64_t H = 8, E = 6, V = 30, M = 3;
  const std::vector<float> picked = random_vector(Linear::padded_rows(M) * H, 1);
  const auto log_softmax_rows = [&](Matrix logits) {
    for (int64_t m = 0; m < M; ++m) {
      double max = -INFINITY, total = 0;
      for (int64_t v = 0; v < V; ++v) max = std::max(max, logits[m * V + v]);
      for (int64_t v = 0; v < V; ++v) total += std::exp(logits[m * V + v] - max);
      for (int64_t v = 0; v < V; ++v) logits[m * V + v] -= max + std::log(total);
    }
    return logits;
  };
  const auto expect_rows = [&](const std::vector<std::vector<float>>& got, const Matrix& want) {
    ASSERT_EQ(got.size(), size_t(M));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t v = 0; v < V; ++v) ASSERT_NEAR(got[m][v], want[m * V + v], 1e-4) << m << " " << v;
  };
  // TransformTied (BERT, ALBERT): decoder(LayerNorm_E(gelu(W_t h + b_t))) + bias.
  EncoderWeights w;
  w.mlm = MlmKind::TransformTied;
  const std::vector<float> wt = random_vector(E * H, 2, 0.4f), bt = random_vector(E, 3, 0.1f);
  const std::vector<float> wd = random_vector(V * E, 4, 0.4f), bd = random_vector(V, 5, 0.1f);
  w.mlm_transform = Linear(H, E, wt, bt, Activation::GeluErf);
  w.mlm_transform_norm = layer_norm_weights(E, 6);
  Matrix t = ref_linear(widen(picked.data(), M * H), M, H, wt, bt);
  for (double& v : t) v = gelu(v);
  t = ref_layer_norm(t, E, w.mlm_transform_norm->gain, w.mlm_transform_norm->bias, 1e-12);
  expect_rows(mlm_head(w, Linear(E, V, wd, bd), picked.data(), M, H, E), log_softmax_rows(ref_linear(t, M, E, wd, bd)));
  // DirectTied (RoFormer v2): hidden @ decoder^T, no transform, no bias.
  EncoderWeights direct;
  direct.mlm = MlmKind::DirectTied;
  const std::vector<float> wdh = random_vector(V * H, 8, 0.4f);
  expect_rows(mlm_head(direct, Linear(H, V, wdh, {}), picked.data(), M, H, E),
              log_softmax_rows(ref_linear(widen(picked.data(), M * H), M, H, wdh, {})));
}

TEST(EncoderBlocks, GatherPositionsRefusesPaddingAndOutOfBatch) {
  const EncoderSpec spec = small_spec(8, 8, NormPlacement::Post);
  const EncoderInput in = two_sequences(spec.vocab_size);
  const PackedBatch p = pack_batch(in, spec);
  const std::vector<float> x = random_vector(Linear::padded_rows(p.rows) * 8, 3);
  const std::vector<float> picked = gather_positions(x.data(), p, in, {{1, 2}, {0, 0}}, 8);
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(picked[i], x[(5 + 2) * 8 + i]);  // batch 1 position 2 = packed row 7
    EXPECT_EQ(picked[8 + i], x[i]);
  }
  EXPECT_THROW(gather_positions(x.data(), p, in, {{1, 4}}, 8), Error);  // padding
  EXPECT_THROW(gather_positions(x.data(), p, in, {{2, 0}}, 8), Error);  // no such row
}

TEST(EncoderBlocks, StreamStatsRecorderMatchesLoops) {
  const int64_t H = 6, L = 2;
  PackedBatch p;
  p.rows = 4;
  p.layout.is_key = {1, 1, 0, 1};  // row 2: a masked [CLS] kept only as a query, never counted
  ForwardScratch scratch;
  StreamStats stats;
  StreamStatsRecorder rec(&stats, p, L, H, scratch);
  std::vector<std::vector<float>> xs{random_vector(4 * H, 1), random_vector(4 * H, 2), random_vector(4 * H, 3)};
  rec.embeddings(xs[0].data());
  for (int64_t l = 0; l < L; ++l) {
    rec.before_layer(xs[l].data());
    rec.entropy()->sum += 0.5 * (l + 1);
    rec.entropy()->count += 2;
    rec.after_layer(l, xs[l + 1].data());
  }
  const auto norm = [&](const std::vector<float>& x, int64_t r) {
    double s = 0;
    for (int64_t i = 0; i < H; ++i) s += double(x[r * H + i]) * x[r * H + i];
    return std::sqrt(s);
  };
  EXPECT_EQ(stats.tokens, 3);
  for (int64_t t = 0; t <= L; ++t) {
    double want = 0;
    for (int64_t r : {0, 1, 3}) want += norm(xs[t], r) / 3;
    EXPECT_NEAR(stats.norm()[t], want, 1e-9);
  }
  for (int64_t l = 0; l < L; ++l) {
    double rel = 0, cosine = 0;
    for (int64_t r : {0, 1, 3}) {
      double diff = 0, dot = 0;
      for (int64_t i = 0; i < H; ++i) {
        const double a = xs[l][r * H + i], b = xs[l + 1][r * H + i];
        diff += (b - a) * (b - a);
        dot += a * b;
      }
      rel += std::sqrt(diff) / norm(xs[l], r) / 3;
      cosine += dot / (norm(xs[l], r) * norm(xs[l + 1], r)) / 3;
    }
    EXPECT_NEAR(stats.relative_update()[l], rel, 1e-9);
    EXPECT_NEAR(stats.cosine_next()[l], cosine, 1e-9);
    EXPECT_NEAR(stats.attention_entropy()[l], 0.5 * (l + 1) / 2, 1e-12);
  }
  // Off: nothing recorded, no entropy sink.
  StreamStatsRecorder off(nullptr, p, L, H, scratch);
  EXPECT_EQ(off.entropy(), nullptr);
  off.embeddings(xs[0].data());
}
