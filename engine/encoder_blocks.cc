#include "engine/encoder_blocks.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/ops/op_profile.h"
#include "engine/ops/softmax.h"

namespace nspbert {

namespace {

template <typename T>
T* at_least(std::vector<T>& buffer, int64_t count) {
  if (buffer.size() < static_cast<size_t>(count)) buffer.resize(count);
  return buffer.data();
}

// Padded tail rows [rows, padded_rows) of a GEMM input: zero, so stale values never reach a kernel.
void zero_tail(float* buffer, int64_t rows, int64_t padded_rows, int64_t width) {
  std::fill(buffer + rows * width, buffer + padded_rows * width, 0.0f);
}

void add_row(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// x <- alpha x, the DeepNorm ablation's residual scale (a no-op at alpha = 1).
void scale_residual(StreamRows s, int64_t hidden, float alpha) {
  if (alpha == 1.0f) return;
  for (int64_t i = 0; i < s.rows * hidden; ++i) s.x[i] *= alpha;
}

}  // namespace

PackedBatch pack_batch(const EncoderInput& in, const EncoderSpec& spec) {
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
    if (seq.valid_length == 0) fail_input("row " + std::to_string(b) + " has no token with attention_mask 1");
    p.layout.sequences.push_back(seq);
  }
  return p;
}

LayerContext layer_context(const EncoderSpec& spec, const EncoderWeights& weights, const PackedBatch& batch,
                           NormPlacement placement, float residual_scale, ForwardScratch& scratch) {
  const int64_t H = spec.hidden, I = spec.intermediate, R = Linear::padded_rows(batch.rows);
  LayerContext c;
  c.batch = &batch;
  c.hidden = H;
  c.placement = placement;
  c.residual_scale = residual_scale;
  c.rotary = spec.position_kind == PositionKind::Rotary;
  c.rotary_value = spec.rotary_value;
  if (placement == NormPlacement::Pre) {
    c.normed = at_least(scratch.normed, R * H);
    zero_tail(c.normed, batch.rows, R, H);
  }
  // int8 keeps it in bf16 only where bf16 is native: elsewhere oneDNN's int8 GEMMs writing bf16 are slow.
  const auto low_precision = [](const Linear& l) {
    return l.precision() == Precision::BF16 || (l.precision() == Precision::Int8 && cpu_has_bf16());
  };
  c.bf16_intermediate = !weights.layers.empty() && low_precision(weights.layers.front().ffn_in) &&
                        low_precision(weights.layers.front().ffn_out);
  c.qkv = at_least(scratch.qkv, R * 3 * H);
  c.context = at_least(scratch.context, R * H);
  zero_tail(c.context, batch.rows, R, H);
  if (c.bf16_intermediate)
    c.ffn_bf16 = at_least(scratch.ffn_bf16, R * I);
  else
    c.ffn = at_least(scratch.ffn, R * I);
  return c;
}

AttentionSettings layer_attention(const AttentionOptions& o, const LayerWeights& layer, bool last_layer) {
  AttentionSettings settings;
  const bool windowed = o.window > 0 && !(o.hwfa && last_layer);
  const bool logn = o.logn_base > 1.0 && (!o.hwfa || last_layer);
  settings.window = windowed ? o.window : 0;
  settings.logn_base = logn ? o.logn_base : 0.0;
  settings.logn_at_least_one = o.logn_at_least_one;
  settings.bf16_gemms =
      layer.qkv.precision() == Precision::BF16 || (layer.qkv.precision() == Precision::Int8 && cpu_has_bf16());
  return settings;
}

float* embed(const EncoderSpec& spec, const EncoderWeights& w, const EncoderInput& in, const PackedBatch& p,
             ForwardScratch& scratch) {
  OpTimer timer(OpKind::Embedding);
  const int64_t H = spec.hidden, E = spec.embedding_size, R = Linear::padded_rows(p.rows);
  float* const x = at_least(scratch.x, R * std::max(H, E));
  float* const emb = at_least(scratch.embeddings, R * E);
  zero_tail(emb, p.rows, R, E);
#pragma omp parallel for
  for (int64_t r = 0; r < p.rows; ++r) {
    const int64_t i = p.source[r];
    float* row = emb + r * E;
    const float* word = w.word_embeddings.data() + static_cast<int64_t>(in.ids[i]) * E;
    std::copy(word, word + E, row);
    const int64_t type = in.type_ids.empty() ? 0 : in.type_ids[i];
    add_row(row, w.type_embeddings.data() + type * E, E);
    if (spec.position_kind == PositionKind::Absolute)
      add_row(row, w.position_embeddings.data() + p.layout.positions[r] * E, E);
  }
  if (w.embedding_norm) normalize_rows(*w.embedding_norm, emb, emb, p.rows, E);
  if (w.embedding_projection)
    w.embedding_projection->forward(emb, p.rows, x);
  else
    std::copy(emb, emb + R * E, x);
  zero_tail(x, p.rows, R, H);
  return x;
}

StreamRows attention_block(const LayerWeights& w, const LayerContext& c, const AttentionSettings& settings,
                           StreamRows stream, bool cls_only, AttentionEntropy* entropy, ForwardScratch& scratch) {
  const PackedBatch& p = *c.batch;
  const int64_t H = c.hidden;
  const float* attention_input = stream.x;
  if (c.placement == NormPlacement::Pre) {
    normalize_rows(w.attention_norm, stream.x, c.normed, stream.rows, H);
    attention_input = c.normed;
  }
  {
    OpTimer timer(OpKind::QkvGemm);
    w.qkv.forward(attention_input, stream.rows, c.qkv);
  }
  if (c.rotary) apply_rotary(p.layout, c.qkv, stream.rows, c.rotary_value);
  self_attention(p.layout, settings, c.qkv, c.context, entropy, cls_only);

  const float* context = c.context;
  if (cls_only) {  // from here on, one row per sequence
    const int64_t B = static_cast<int64_t>(p.layout.sequences.size()), PB = Linear::padded_rows(B);
    scratch.cls_x.assign(PB * H, 0.0f);
    scratch.cls_context.assign(PB * H, 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t r = p.layout.sequences[b].first_row;
      std::copy(stream.x + r * H, stream.x + (r + 1) * H, scratch.cls_x.data() + b * H);
      std::copy(c.context + r * H, c.context + (r + 1) * H, scratch.cls_context.data() + b * H);
    }
    stream = {scratch.cls_x.data(), B};
    context = scratch.cls_context.data();
  }
  scale_residual(stream, H, c.residual_scale);
  {
    OpTimer timer(OpKind::AttentionOutGemm);
    w.attention_out.forward(context, stream.rows, stream.x, Epilogue::AddToOutput);
  }
  if (c.placement == NormPlacement::Post) normalize_rows(w.attention_norm, stream.x, stream.x, stream.rows, H);
  return stream;
}

void ffn_block(const LayerWeights& w, const LayerContext& c, StreamRows stream) {
  const int64_t H = c.hidden;
  const float* ffn_input = stream.x;
  if (c.placement == NormPlacement::Pre) {
    normalize_rows(w.ffn_norm, stream.x, c.normed, stream.rows, H);
    ffn_input = c.normed;
  }
  {
    OpTimer timer(OpKind::FfnInGemm);
    if (c.bf16_intermediate)
      w.ffn_in.forward_bf16_output(ffn_input, stream.rows, c.ffn_bf16, Epilogue::Activation);
    else
      w.ffn_in.forward(ffn_input, stream.rows, c.ffn, Epilogue::Activation);
  }
  scale_residual(stream, H, c.residual_scale);  // after the FFN has read its input: under Post-Norm that is x
  OpTimer timer(OpKind::FfnOutGemm);
  if (c.bf16_intermediate)
    w.ffn_out.forward_bf16_input(c.ffn_bf16, stream.rows, stream.x, Epilogue::AddToOutput);
  else
    w.ffn_out.forward(c.ffn, stream.rows, stream.x, Epilogue::AddToOutput);
  if (c.placement == NormPlacement::Post) normalize_rows(w.ffn_norm, stream.x, stream.x, stream.rows, H);
}

void final_norm(const EncoderWeights& w, NormPlacement placement, bool swapped_placement, StreamRows stream,
                int64_t hidden) {
  if (placement != NormPlacement::Pre) return;
  const NormWeights* norm = w.final_norm ? &*w.final_norm : nullptr;
  if (!norm && swapped_placement) norm = &w.layers.back().ffn_norm;
  if (norm) normalize_rows(*norm, stream.x, stream.x, stream.rows, hidden);
}

std::vector<float> first_rows(const StreamRows& stream, const PackedBatch& p, bool gathered, int64_t H) {
  const int64_t B = static_cast<int64_t>(p.layout.sequences.size());
  std::vector<float> cls(Linear::padded_rows(B) * H, 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t r = gathered ? b : p.layout.sequences[b].first_row;
    std::copy(stream.x + r * H, stream.x + (r + 1) * H, cls.data() + b * H);
  }
  return cls;
}

void pooled_heads(const EncoderWeights& w, const std::vector<float>& cls, int64_t B, int64_t H,
                  const ForwardRequest& req, EncoderOutput& out) {
  OpTimer timer(OpKind::Heads);
  const int64_t PB = Linear::padded_rows(B);
  std::vector<float> pooled(PB * H, 0.0f);
  w.pooler->forward(cls.data(), B, pooled.data());
  for (int64_t i = 0; i < B * H; ++i) pooled[i] = std::tanh(pooled[i]);
  if (req.want_pooled) out.pooled.assign(pooled.begin(), pooled.begin() + B * H);
  if (req.want_nsp) {
    std::vector<float> logits(PB * 2, 0.0f);
    w.nsp->forward(pooled.data(), B, logits.data());
    out.nsp_logits.assign(logits.begin(), logits.begin() + B * 2);
  }
  if (req.want_classifier) {
    const int64_t C = w.classifier->out();
    std::vector<float> logits(PB * C, 0.0f);
    w.classifier->forward(pooled.data(), B, logits.data());
    out.classifier_logits.assign(logits.begin(), logits.begin() + B * C);
  }
}

std::vector<float> gather_positions(const float* x, const PackedBatch& p, const EncoderInput& in,
                                    const std::vector<std::pair<int64_t, int64_t>>& positions, int64_t H) {
  const int64_t M = static_cast<int64_t>(positions.size());
  std::vector<int64_t> row_of(in.batch * in.seq_len, -1);
  for (int64_t r = 0; r < p.rows; ++r)
    if (p.layout.is_key[r]) row_of[p.source[r]] = r;
  std::vector<float> picked(Linear::padded_rows(M) * H, 0.0f);
  for (int64_t m = 0; m < M; ++m) {
    const auto [b, t] = positions[m];
    const std::string where = "mlm position [" + std::to_string(b) + ", " + std::to_string(t) + "]";
    if (b < 0 || b >= in.batch || t < 0 || t >= in.seq_len) fail_input(where + " is outside the batch");
    const int64_t r = row_of[b * in.seq_len + t];
    if (r < 0) fail_input(where + " is padding");
    std::copy(x + r * H, x + (r + 1) * H, picked.data() + m * H);
  }
  return picked;
}

std::vector<std::vector<float>> mlm_head(const EncoderWeights& w, const Linear& decoder, const float* picked, int64_t M,
                                         int64_t H, int64_t E) {
  OpTimer timer(OpKind::Heads);
  const int64_t PM = Linear::padded_rows(M), V = decoder.out();
  const float* decoder_input = picked;
  std::vector<float> transformed;
  if (w.mlm == MlmKind::TransformTied) {
    transformed.assign(PM * E, 0.0f);
    w.mlm_transform->forward(picked, M, transformed.data(), Epilogue::Activation);
    normalize_rows(*w.mlm_transform_norm, transformed.data(), transformed.data(), M, E);
    decoder_input = transformed.data();
  }
  std::vector<float> logits(PM * V, 0.0f);
  decoder.forward(decoder_input, M, logits.data());
  std::vector<std::vector<float>> log_probs(M);
  for (int64_t m = 0; m < M; ++m) {
    log_probs[m].resize(V);
    log_softmax(logits.data() + m * V, log_probs[m].data(), V);
  }
  return log_probs;
}

StreamStatsRecorder::StreamStatsRecorder(StreamStats* stats, const PackedBatch& batch, int64_t layers, int64_t hidden,
                                         ForwardScratch& scratch)
    : stats_(stats), batch_(batch), hidden_(hidden) {
  if (!stats_) return;
  previous_ = at_least(scratch.previous, batch.rows * hidden);
  stats_->norm_sum.assign(layers + 1, 0.0);
  stats_->relative_update_sum.assign(layers, 0.0);
  stats_->cosine_next_sum.assign(layers, 0.0);
  stats_->attention_entropy_sum.assign(layers, 0.0);
  stats_->attention_entropy_count.assign(layers, 0);
  for (int64_t r = 0; r < batch.rows; ++r) stats_->tokens += batch.layout.is_key[r];
}

void StreamStatsRecorder::embeddings(const float* x) {
  if (!stats_) return;
  double total = 0;
  const int64_t H = hidden_;
#pragma omp parallel for reduction(+ : total)
  for (int64_t r = 0; r < batch_.rows; ++r)
    if (batch_.layout.is_key[r]) total += std::sqrt(dot(x + r * H, x + r * H, H));
  stats_->norm_sum[0] += total;
}

void StreamStatsRecorder::before_layer(const float* x) {
  if (!stats_) return;
  std::copy(x, x + batch_.rows * hidden_, previous_);
  entropy_ = {};
}

void StreamStatsRecorder::after_layer(int64_t layer, const float* x) {
  if (!stats_) return;
  const int64_t H = hidden_;
  const float* const before = previous_;
  double rel = 0, cosine = 0, norm = 0;
#pragma omp parallel for reduction(+ : rel, cosine)
  for (int64_t r = 0; r < batch_.rows; ++r) {
    if (!batch_.layout.is_key[r]) continue;
    const float* a = before + r * H;
    const float* b = x + r * H;
    double diff = 0;
    for (int64_t i = 0; i < H; ++i) diff += (static_cast<double>(b[i]) - a[i]) * (static_cast<double>(b[i]) - a[i]);
    const double na = std::sqrt(dot(a, a, H)), nb = std::sqrt(dot(b, b, H));
    rel += std::sqrt(diff) / std::max(na, 1e-30);
    cosine += dot(a, b, H) / std::max(na * nb, 1e-30);
  }
  stats_->relative_update_sum[layer] += rel;
  stats_->cosine_next_sum[layer] += cosine;
#pragma omp parallel for reduction(+ : norm)
  for (int64_t r = 0; r < batch_.rows; ++r)
    if (batch_.layout.is_key[r]) norm += std::sqrt(dot(x + r * H, x + r * H, H));
  stats_->norm_sum[layer + 1] += norm;
  stats_->attention_entropy_sum[layer] += entropy_.sum;
  stats_->attention_entropy_count[layer] += entropy_.count;
}

}  // namespace nspbert
