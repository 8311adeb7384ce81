#include "engine/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "engine/ops/attention.h"
#include "engine/ops/softmax.h"

namespace nspbert {

namespace {

// Rows of the batch that the encoder actually computes: every attended token, plus position 0
// of each sequence (the pooler reads it even when a caller masked it).
struct PackedBatch {
  AttentionLayout layout;
  std::vector<int64_t> source;  // packed row -> b*T + t
  int64_t rows = 0;
};

PackedBatch pack(const EncoderInput& in, const EncoderSpec& spec) {
  PackedBatch p;
  p.layout.hidden = spec.hidden;
  p.layout.heads = spec.heads;
  for (int64_t b = 0; b < in.batch; ++b) {
    SequenceRows seq;
    seq.first_row = p.rows;
    for (int64_t t = 0; t < in.seq_len; ++t) {
      const int64_t i = b * in.seq_len + t;
      const bool attended = in.attention_mask.empty() || in.attention_mask[i];
      if (!attended && t != 0) continue;
      p.source.push_back(i);
      p.layout.positions.push_back(in.position_ids.empty() ? t : in.position_ids[i]);
      p.layout.is_key.push_back(attended ? 1 : 0);
      seq.valid_length += attended;
      ++p.rows;
    }
    seq.rows = p.rows - seq.first_row;
    if (seq.valid_length == 0)
      fail_input("row " + std::to_string(b) + " has no token with attention_mask 1");
    p.layout.sequences.push_back(seq);
  }
  return p;
}

void validate(const EncoderInput& in, const EncoderSpec& spec) {
  const size_t n = static_cast<size_t>(in.batch * in.seq_len);
  if (in.batch <= 0 || in.seq_len <= 0) fail_input("input_ids is empty");
  if (in.ids.size() != n) fail_input("input_ids has " + std::to_string(in.ids.size()) + " values, expected batch*length");
  auto check_size = [&](size_t size, const char* what) {
    if (size != 0 && size != n)
      fail_input(std::string(what) + " does not have the shape of input_ids");
  };
  check_size(in.type_ids.size(), "token_type_ids");
  check_size(in.attention_mask.size(), "attention_mask");
  check_size(in.position_ids.size(), "position_ids");
  for (size_t i = 0; i < n; ++i) {
    const auto where = [&] {
      return " at [" + std::to_string(i / in.seq_len) + "][" + std::to_string(i % in.seq_len) + "]";
    };
    if (in.ids[i] < 0 || in.ids[i] >= spec.vocab_size)
      fail_input("input id " + std::to_string(in.ids[i]) + where() + " is outside the vocabulary (size " +
                 std::to_string(spec.vocab_size) + ")");
    if (!in.type_ids.empty() && (in.type_ids[i] < 0 || in.type_ids[i] >= spec.type_vocab_size))
      fail_input("token_type_id " + std::to_string(in.type_ids[i]) + where() + " is outside type_vocab_size " +
                 std::to_string(spec.type_vocab_size));
    if (!in.attention_mask.empty() && in.attention_mask[i] > 1)
      fail_input("attention_mask" + where() + " is neither 0 nor 1");
    const int64_t pos = in.position_ids.empty() ? static_cast<int64_t>(i % in.seq_len) : in.position_ids[i];
    if (pos < 0) fail_input("position id" + where() + " is negative");
    if (spec.position_kind == PositionKind::Absolute && pos >= spec.max_positions)
      fail_input("position " + std::to_string(pos) + where() + " is past the position table (max_position_embeddings " +
                 std::to_string(spec.max_positions) + ")");
  }
}

void add_row(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Accumulates the statistics of one layer step x_t -> x_{t+1} over attended rows.
void accumulate_step(StreamStats& stats, const PackedBatch& p, const float* before, const float* after,
                     int64_t hidden, int64_t layer) {
  double rel = 0, cosine = 0;
#pragma omp parallel for reduction(+ : rel, cosine)
  for (int64_t r = 0; r < p.rows; ++r) {
    if (!p.layout.is_key[r]) continue;
    const float* a = before + r * hidden;
    const float* b = after + r * hidden;
    double diff = 0;
    for (int64_t i = 0; i < hidden; ++i) diff += (static_cast<double>(b[i]) - a[i]) * (static_cast<double>(b[i]) - a[i]);
    const double na = std::sqrt(dot(a, a, hidden)), nb = std::sqrt(dot(b, b, hidden));
    rel += std::sqrt(diff) / std::max(na, 1e-30);
    cosine += dot(a, b, hidden) / std::max(na * nb, 1e-30);
  }
  stats.relative_update_sum[layer] += rel;
  stats.cosine_next_sum[layer] += cosine;
}

void accumulate_norm(StreamStats& stats, const PackedBatch& p, const float* x, int64_t hidden, int64_t index) {
  double total = 0;
#pragma omp parallel for reduction(+ : total)
  for (int64_t r = 0; r < p.rows; ++r)
    if (p.layout.is_key[r]) total += std::sqrt(dot(x + r * hidden, x + r * hidden, hidden));
  stats.norm_sum[index] += total;
}

// Working buffers kept per thread across forward calls: fresh multi-megabyte vectors cost a page
// fault per 4 KB page and a memset on every call, serial work that left the other core idle.
struct ForwardScratch {
  std::vector<float> x, embeddings, normed, qkv, context, ffn, previous;
  std::vector<uint16_t> ffn_bf16;
};

template <typename T>
T* at_least(std::vector<T>& buffer, int64_t count) {
  if (buffer.size() < static_cast<size_t>(count)) buffer.resize(count);
  return buffer.data();
}

// Padded tail rows [rows, padded_rows) of a GEMM input: zero, so stale values never reach a kernel.
void zero_tail(float* buffer, int64_t rows, int64_t padded_rows, int64_t width) {
  std::fill(buffer + rows * width, buffer + padded_rows * width, 0.0f);
}

}  // namespace

void StreamStats::merge(const StreamStats& o) {
  auto add = [](auto& a, const auto& b) {
    if (b.empty()) return;
    if (a.empty()) a.assign(b.size(), 0);
    if (a.size() != b.size()) throw Error(ErrorKind::Internal, "merging stream statistics of different depths");
    for (size_t i = 0; i < b.size(); ++i) a[i] += b[i];
  };
  add(norm_sum, o.norm_sum);
  add(relative_update_sum, o.relative_update_sum);
  add(cosine_next_sum, o.cosine_next_sum);
  add(attention_entropy_sum, o.attention_entropy_sum);
  add(attention_entropy_count, o.attention_entropy_count);
  tokens += o.tokens;
}

static std::vector<double> divided(const std::vector<double>& sums, double by) {
  std::vector<double> out(sums.size());
  for (size_t i = 0; i < sums.size(); ++i) out[i] = by > 0 ? sums[i] / by : 0.0;
  return out;
}
std::vector<double> StreamStats::norm() const { return divided(norm_sum, tokens); }
std::vector<double> StreamStats::relative_update() const { return divided(relative_update_sum, tokens); }
std::vector<double> StreamStats::cosine_next() const { return divided(cosine_next_sum, tokens); }
std::vector<double> StreamStats::attention_entropy() const {
  std::vector<double> out(attention_entropy_sum.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = attention_entropy_count[i] > 0 ? attention_entropy_sum[i] / attention_entropy_count[i] : 0.0;
  return out;
}

Encoder::Encoder(EncoderSpec spec, EncoderWeights weights) : spec_(spec), weights_(std::move(weights)) {}

const Linear& Encoder::mlm_decoder() const {
  std::call_once(decoder_->once, [&] {
    const int64_t V = spec_.vocab_size, in = weights_.mlm == MlmKind::TransformTied ? spec_.embedding_size : spec_.hidden;
    const std::vector<float>& weight =
        weights_.mlm_decoder_weight.empty() ? weights_.word_embeddings : weights_.mlm_decoder_weight;
    if (static_cast<int64_t>(weight.size()) != V * in)
      fail_model("the MLM decoder is not [vocab_size, " + std::to_string(in) + "]");
    decoder_->linear = Linear(in, V, weight, weights_.mlm_decoder_bias);
  });
  return decoder_->linear;
}

HeadsPresent Encoder::heads() const {
  return {weights_.pooler.has_value(), weights_.nsp.has_value(), weights_.mlm != MlmKind::None,
          weights_.classifier.has_value()};
}

EncoderOutput Encoder::forward(const EncoderInput& in, const ForwardRequest& req) const {
  validate(in, spec_);
  const HeadsPresent present = heads();
  if ((req.want_pooled || req.want_nsp) && !present.pooler) fail_model("this checkpoint has no pooler");
  if (req.want_nsp && !present.nsp) fail_model("this checkpoint has no NSP head (cls.seq_relationship)");
  if (req.want_classifier && !present.classifier) fail_model("this checkpoint has no classifier head");
  if (!req.mlm_positions.empty() && !present.mlm) fail_model("this checkpoint has no MLM head");

  const PackedBatch p = pack(in, spec_);
  const int64_t H = spec_.hidden, E = spec_.embedding_size, I = spec_.intermediate;
  const int64_t R = Linear::padded_rows(p.rows);

  thread_local ForwardScratch scratch;
  // Embeddings (width E), then the optional norm and projection to H.
  float* const x = at_least(scratch.x, R * std::max(H, E));
  {
    float* const emb = at_least(scratch.embeddings, R * E);
    zero_tail(emb, p.rows, R, E);
#pragma omp parallel for
    for (int64_t r = 0; r < p.rows; ++r) {
      const int64_t i = p.source[r];
      float* row = emb + r * E;
      const float* word = weights_.word_embeddings.data() + static_cast<int64_t>(in.ids[i]) * E;
      std::copy(word, word + E, row);
      const int64_t type = in.type_ids.empty() ? 0 : in.type_ids[i];
      add_row(row, weights_.type_embeddings.data() + type * E, E);
      if (spec_.position_kind == PositionKind::Absolute)
        add_row(row, weights_.position_embeddings.data() + p.layout.positions[r] * E, E);
    }
    if (weights_.embedding_norm) normalize_rows(*weights_.embedding_norm, emb, emb, p.rows, E);
    if (weights_.embedding_projection)
      weights_.embedding_projection->forward(emb, p.rows, x);
    else
      std::copy(emb, emb + R * E, x);
    zero_tail(x, p.rows, R, H);
  }

  EncoderOutput out;
  out.batch = in.batch;
  out.seq_len = in.seq_len;
  out.hidden = H;
  StreamStats& stats = out.stats;
  float* const previous = req.want_stats ? at_least(scratch.previous, p.rows * H) : nullptr;
  if (req.want_stats) {
    stats.norm_sum.assign(spec_.layers + 1, 0.0);
    stats.relative_update_sum.assign(spec_.layers, 0.0);
    stats.cosine_next_sum.assign(spec_.layers, 0.0);
    stats.attention_entropy_sum.assign(spec_.layers, 0.0);
    stats.attention_entropy_count.assign(spec_.layers, 0);
    for (int64_t r = 0; r < p.rows; ++r) stats.tokens += p.layout.is_key[r];
    accumulate_norm(stats, p, x, H, 0);
  }

  NormPlacement placement = spec_.norm_placement;
  if (req.ablation.swap_norm_placement)
    placement = placement == NormPlacement::Pre ? NormPlacement::Post : NormPlacement::Pre;
  const float alpha = req.ablation.residual_scale;

  float* const normed = placement == NormPlacement::Pre ? at_least(scratch.normed, R * H) : nullptr;
  if (normed) zero_tail(normed, p.rows, R, H);
  // A bf16 FFN keeps its intermediate in bf16: the second GEMM would narrow it anyway.
  const bool bf16_intermediate = !weights_.layers.empty() && weights_.layers.front().ffn_in.precision() == Precision::BF16 &&
                                 weights_.layers.front().ffn_out.precision() == Precision::BF16;
  float* const qkv = at_least(scratch.qkv, R * 3 * H);
  float* const context = at_least(scratch.context, R * H);
  zero_tail(context, p.rows, R, H);
  float* const ffn = bf16_intermediate ? nullptr : at_least(scratch.ffn, R * I);
  uint16_t* const ffn_bf16 = bf16_intermediate ? at_least(scratch.ffn_bf16, R * I) : nullptr;
  const bool rotary = spec_.position_kind == PositionKind::Rotary;

  // When only [CLS]-based heads are wanted, the last layer needs keys and values for every row
  // but everything else for the first row of each sequence only (DESIGN.md, plan step 3).
  const bool cls_only_last_layer = !req.want_last_hidden && req.mlm_positions.empty() && !req.want_stats;
  const int64_t B = in.batch, PB = Linear::padded_rows(B);
  std::vector<float> cls_x, cls_context;
  float* stream = x;  // the rows the heads read
  int64_t stream_rows = p.rows;

  for (int64_t l = 0; l < spec_.layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    const bool last = l + 1 == spec_.layers;
    if (req.want_stats) std::copy(x, x + p.rows * H, previous);

    AttentionSettings settings;
    const AttentionOptions& ao = req.attention;
    const bool windowed = ao.window > 0 && !(ao.hwfa && last);
    const bool logn = ao.logn_base > 1.0 && (!ao.hwfa || last);
    settings.window = windowed ? ao.window : 0;
    settings.logn_base = logn ? ao.logn_base : 0.0;
    settings.logn_at_least_one = ao.logn_at_least_one;
    settings.bf16_gemms = w.qkv.precision() == Precision::BF16 || (w.qkv.precision() == Precision::Int8 && cpu_has_bf16());
    AttentionEntropy entropy;

    const float* attention_input = x;
    if (placement == NormPlacement::Pre) {
      normalize_rows(w.attention_norm, x, normed, p.rows, H);
      attention_input = normed;
    }
    w.qkv.forward(attention_input, p.rows, qkv);
    if (rotary) apply_rotary(p.layout, qkv, p.rows, spec_.rotary_value);
    const bool cls_only = last && cls_only_last_layer;
    self_attention(p.layout, settings, qkv, context, req.want_stats ? &entropy : nullptr, cls_only);

    float* xs = x;
    const float* ctx = context;
    int64_t rows = p.rows;
    if (cls_only) {
      cls_x.assign(PB * H, 0.0f);
      cls_context.assign(PB * H, 0.0f);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t r = p.layout.sequences[b].first_row;
        std::copy(x + r * H, x + (r + 1) * H, cls_x.data() + b * H);
        std::copy(context + r * H, context + (r + 1) * H, cls_context.data() + b * H);
      }
      xs = cls_x.data();
      ctx = cls_context.data();
      rows = B;
      stream = xs;
      stream_rows = B;
    }
    const auto scale_residual = [&] {
      if (alpha == 1.0f) return;
      for (int64_t i = 0; i < rows * H; ++i) xs[i] *= alpha;
    };

    scale_residual();
    w.attention_out.forward(ctx, rows, xs, Epilogue::AddToOutput);
    if (placement == NormPlacement::Post) normalize_rows(w.attention_norm, xs, xs, rows, H);

    const float* ffn_input = xs;
    if (placement == NormPlacement::Pre) {
      normalize_rows(w.ffn_norm, xs, normed, rows, H);
      ffn_input = normed;
    }
    if (bf16_intermediate)
      w.ffn_in.forward_bf16_output(ffn_input, rows, ffn_bf16, Epilogue::Activation);
    else
      w.ffn_in.forward(ffn_input, rows, ffn, Epilogue::Activation);
    scale_residual();  // after the FFN has read its input: under Post-Norm that input is xs
    if (bf16_intermediate)
      w.ffn_out.forward_bf16_input(ffn_bf16, rows, xs, Epilogue::AddToOutput);
    else
      w.ffn_out.forward(ffn, rows, xs, Epilogue::AddToOutput);
    if (placement == NormPlacement::Post) normalize_rows(w.ffn_norm, xs, xs, rows, H);

    if (req.want_stats) {
      accumulate_step(stats, p, previous, x, H, l);
      accumulate_norm(stats, p, x, H, l + 1);
      stats.attention_entropy_sum[l] += entropy.sum;
      stats.attention_entropy_count[l] += entropy.count;
    }
  }

  // Pre-norm needs one final norm before the heads. Run as pre-norm, a post-norm checkpoint
  // reuses its last layer's output norm for that.
  if (placement == NormPlacement::Pre) {
    const NormWeights* final_norm = weights_.final_norm ? &*weights_.final_norm : nullptr;
    if (!final_norm && req.ablation.swap_norm_placement) final_norm = &weights_.layers.back().ffn_norm;
    if (final_norm) normalize_rows(*final_norm, stream, stream, stream_rows, H);
  }

  if (req.want_last_hidden) {
    out.last_hidden.assign(in.batch * in.seq_len * H, 0.0f);
    for (int64_t r = 0; r < p.rows; ++r)
      if (p.layout.is_key[r])
        std::copy(x + r * H, x + (r + 1) * H, out.last_hidden.data() + p.source[r] * H);
  }

  if (req.want_pooled || req.want_nsp || req.want_classifier) {
    std::vector<float> cls(PB * H, 0.0f), pooled(PB * H, 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t r = stream == x ? p.layout.sequences[b].first_row : b;
      std::copy(stream + r * H, stream + (r + 1) * H, cls.data() + b * H);
    }
    weights_.pooler->forward(cls.data(), B, pooled.data());
    for (int64_t i = 0; i < B * H; ++i) pooled[i] = std::tanh(pooled[i]);
    if (req.want_pooled) out.pooled.assign(pooled.begin(), pooled.begin() + B * H);
    if (req.want_nsp) {
      std::vector<float> logits(PB * 2, 0.0f);
      weights_.nsp->forward(pooled.data(), B, logits.data());
      out.nsp_logits.assign(logits.begin(), logits.begin() + B * 2);
    }
    if (req.want_classifier) {
      const int64_t C = weights_.classifier->out();
      std::vector<float> logits(PB * C, 0.0f);
      weights_.classifier->forward(pooled.data(), B, logits.data());
      out.classifier_logits.assign(logits.begin(), logits.begin() + B * C);
    }
  }

  if (!req.mlm_positions.empty()) {
    const int64_t M = static_cast<int64_t>(req.mlm_positions.size()), PM = Linear::padded_rows(M);
    std::vector<int64_t> row_of(in.batch * in.seq_len, -1);
    for (int64_t r = 0; r < p.rows; ++r)
      if (p.layout.is_key[r]) row_of[p.source[r]] = r;
    std::vector<float> picked(PM * H, 0.0f);
    for (int64_t m = 0; m < M; ++m) {
      const auto [b, t] = req.mlm_positions[m];
      if (b < 0 || b >= in.batch || t < 0 || t >= in.seq_len)
        fail_input("mlm position [" + std::to_string(b) + ", " + std::to_string(t) + "] is outside the batch");
      const int64_t r = row_of[b * in.seq_len + t];
      if (r < 0) fail_input("mlm position [" + std::to_string(b) + ", " + std::to_string(t) + "] is padding");
      std::copy(x + r * H, x + (r + 1) * H, picked.data() + m * H);
    }
    const float* decoder_input = picked.data();
    std::vector<float> transformed;
    if (weights_.mlm == MlmKind::TransformTied) {
      transformed.assign(PM * E, 0.0f);
      weights_.mlm_transform->forward(picked.data(), M, transformed.data(), Epilogue::Activation);
      normalize_rows(*weights_.mlm_transform_norm, transformed.data(), transformed.data(), M, E);
      decoder_input = transformed.data();
    }
    const int64_t V = spec_.vocab_size;
    std::vector<float> logits(PM * V, 0.0f);
    mlm_decoder().forward(decoder_input, M, logits.data());
    out.mlm_log_probs.resize(M);
    for (int64_t m = 0; m < M; ++m) {
      out.mlm_log_probs[m].resize(V);
      log_softmax(logits.data() + m * V, out.mlm_log_probs[m].data(), V);
    }
  }
  return out;
}

}  // namespace nspbert
