#include "engine/encoder.h"

#include <algorithm>
#include <string>

#include "engine/encoder_blocks.h"
#include "engine/error.h"
#include "engine/ops/op_profile.h"

namespace nspbert {

namespace {

void validate(const EncoderInput& in, const EncoderSpec& spec) {
  const size_t n = static_cast<size_t>(in.batch * in.seq_len);
  if (in.batch <= 0 || in.seq_len <= 0) fail_input("input_ids is empty");
  if (in.ids.size() != n)
    fail_input("input_ids has " + std::to_string(in.ids.size()) + " values, expected batch*length");
  auto check_size = [&](size_t size, const char* what) {
    if (size != 0 && size != n) fail_input(std::string(what) + " does not have the shape of input_ids");
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
    const int64_t V = spec_.vocab_size,
                  in = weights_.mlm == MlmKind::TransformTied ? spec_.embedding_size : spec_.hidden;
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

// The forward pass as a chain of the blocks in engine/encoder_blocks.h.
EncoderOutput Encoder::forward(const EncoderInput& in, const ForwardRequest& req) const {
  OpTimer timer(OpKind::Other);  // what the blocks' own timers do not cover
  validate(in, spec_);
  check_heads(req);
  const PackedBatch p = pack_batch(in, spec_);
  const int64_t H = spec_.hidden;
  thread_local ForwardScratch scratch;
  EncoderOutput out;
  out.batch = in.batch;
  out.seq_len = in.seq_len;
  out.hidden = H;

  float* const x = embed(spec_, weights_, in, p, scratch);
  StreamStatsRecorder stats(req.want_stats ? &out.stats : nullptr, p, spec_.layers, H, scratch);
  stats.embeddings(x);
  const bool swapped = req.ablation.swap_norm_placement;  // compare-norms runs a model the other way
  const NormPlacement other = spec_.norm_placement == NormPlacement::Pre ? NormPlacement::Post : NormPlacement::Pre;
  const NormPlacement placement = swapped ? other : spec_.norm_placement;
  const LayerContext context = layer_context(spec_, weights_, p, placement, req.ablation.residual_scale, scratch);
  // When only [CLS]-based heads are wanted, the last layer needs keys and values for every row
  // but everything else for the first row of each sequence only (docs/design.md, "Performance plan").
  const bool cls_only_last_layer = !req.want_last_hidden && req.mlm_positions.empty() && !req.want_stats;
  StreamRows stream{x, p.rows};  // the rows the heads read
  for (int64_t l = 0; l < spec_.layers; ++l) {
    const LayerWeights& layer = weights_.layers[l];
    const bool last = l + 1 == spec_.layers;
    stats.before_layer(x);
    stream = attention_block(layer, context, layer_attention(req.attention, layer, last), stream,
                             last && cls_only_last_layer, stats.entropy(), scratch);
    ffn_block(layer, context, stream);
    stats.after_layer(l, x);
  }
  final_norm(weights_, placement, swapped, stream, H);

  if (req.want_last_hidden) {
    out.last_hidden.assign(in.batch * in.seq_len * H, 0.0f);
    for (int64_t r = 0; r < p.rows; ++r)
      if (p.layout.is_key[r]) std::copy(x + r * H, x + (r + 1) * H, out.last_hidden.data() + p.source[r] * H);
  }
  if (req.want_pooled || req.want_nsp || req.want_classifier)
    pooled_heads(weights_, first_rows(stream, p, stream.x != x, H), in.batch, H, req, out);
  if (!req.mlm_positions.empty()) {
    const std::vector<float> picked = gather_positions(x, p, in, req.mlm_positions, H);
    out.mlm_log_probs = mlm_head(weights_, mlm_decoder(), picked.data(), static_cast<int64_t>(req.mlm_positions.size()),
                                 H, spec_.embedding_size);
  }
  return out;
}

void Encoder::check_heads(const ForwardRequest& req) const {
  const HeadsPresent present = heads();
  if ((req.want_pooled || req.want_nsp) && !present.pooler) fail_model("this checkpoint has no pooler");
  if (req.want_nsp && !present.nsp) fail_model("this checkpoint has no NSP head (cls.seq_relationship)");
  if (req.want_classifier && !present.classifier) fail_model("this checkpoint has no classifier head");
  if (!req.mlm_positions.empty() && !present.mlm) fail_model("this checkpoint has no MLM head");
}

}  // namespace nspbert
