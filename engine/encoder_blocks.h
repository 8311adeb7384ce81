#pragma once
// The encoder's named blocks, in the order Encoder::forward chains them:
//
//   embed -> L x (attention_block -> ffn_block) -> final_norm -> pooled_heads / mlm_head
//
// with a StreamStatsRecorder watching the residual stream between layers. attention_block and
// ffn_block each own their Pre/Post-Norm branch, so a new norm placement touches those two
// functions and nothing else. The blocks are declared here, not hidden in encoder.cc, so that
// tests/encoder_blocks_test.cc can run each one against a plain loop. Every buffer a block
// reads or writes holds Linear::padded_rows(rows) rows (the GEMMs compute the padded tail).
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/encoder.h"
#include "engine/ops/attention.h"

namespace nspbert {

// Rows of the batch that the encoder actually computes: every attended token, plus position 0
// of each sequence (the pooler reads it even when a caller masked it).
struct PackedBatch {
  AttentionLayout layout;
  std::vector<int64_t> source;  // packed row -> b*T + t
  int64_t rows = 0;
};

// Fails (input error) on a row with no attended token.
PackedBatch pack_batch(const EncoderInput& in, const EncoderSpec& spec);

// Working buffers kept per thread across forward calls: fresh multi-megabyte vectors cost a page
// fault per 4 KB page and a memset on every call, serial work that left the other core idle.
struct ForwardScratch {
  std::vector<float> x, embeddings, normed, qkv, context, ffn, previous, cls_x, cls_context;
  std::vector<uint16_t> ffn_bf16;
};

// The rows of the residual stream a layer block updates in place, each `hidden` wide. Normally
// every packed row; in a [CLS]-only last layer, one gathered row per sequence.
struct StreamRows {
  float* x = nullptr;
  int64_t rows = 0;
};

// What the layer blocks share within one forward call: the batch, the switches, the buffers.
struct LayerContext {
  const PackedBatch* batch = nullptr;
  int64_t hidden = 0;
  NormPlacement placement = NormPlacement::Post;
  float residual_scale = 1.0f;  // the DeepNorm ablation's alpha: x <- alpha x + F(x)
  bool rotary = false;
  bool rotary_value = false;
  bool bf16_intermediate = false;  // a bf16 (or int8, on native-bf16 CPUs) FFN keeps its intermediate in bf16
  float* normed = nullptr;         // [R][H], pre-norm only
  float* qkv = nullptr;            // [R][3H]
  float* context = nullptr;        // [R][H]
  float* ffn = nullptr;            // [R][I] (f32 intermediate)
  uint16_t* ffn_bf16 = nullptr;    // [R][I] (bf16 intermediate)
};

// Sizes the buffers in `scratch` for this batch and returns the context the layer blocks use.
LayerContext layer_context(const EncoderSpec& spec, const EncoderWeights& weights, const PackedBatch& batch,
                           NormPlacement placement, float residual_scale, ForwardScratch& scratch);

// Per-layer attention settings: --attention-window, --logn-scale and --hwfa (window in all but
// the last layer, log-n only in the last), bf16 attention GEMMs when the layer runs in bf16/int8.
AttentionSettings layer_attention(const AttentionOptions& options, const LayerWeights& layer, bool last_layer);

// x_0: word + segment (+ absolute position) embeddings of every packed row, then the embedding
// norm and the E -> H projection when the checkpoint has them. Returns scratch.x, [R][max(H,E)].
float* embed(const EncoderSpec& spec, const EncoderWeights& weights, const EncoderInput& in, const PackedBatch& batch,
             ForwardScratch& scratch);

// The attention sublayer. Post: x <- Norm(alpha x + Attention(x)); pre: x <- alpha x +
// Attention(Norm(x)). With cls_only every row still gives keys and values, but only each
// sequence's first row is a query, and the returned stream is those rows gathered into
// scratch.cls_x ([padded B][H]); otherwise the returned stream is `stream` itself.
StreamRows attention_block(const LayerWeights& layer, const LayerContext& c, const AttentionSettings& settings,
                           StreamRows stream, bool cls_only, AttentionEntropy* entropy, ForwardScratch& scratch);

// The feed-forward sublayer. Post: x <- Norm(alpha x + FFN(x)); pre: x <- alpha x + FFN(Norm(x)).
void ffn_block(const LayerWeights& layer, const LayerContext& c, StreamRows stream);

// Pre-norm needs one norm between the last layer and the heads (the checkpoint's final norm).
// A post-norm checkpoint run as pre-norm (the swap ablation) reuses its last layer's output norm.
void final_norm(const EncoderWeights& weights, NormPlacement placement, bool swapped_placement, StreamRows stream,
                int64_t hidden);

// Each sequence's first row of the stream, [padded B][H] (zero tail). `gathered` says the stream
// already holds one row per sequence (a [CLS]-only last layer).
std::vector<float> first_rows(const StreamRows& stream, const PackedBatch& batch, bool gathered, int64_t hidden);

// pooled = tanh(W_p h_[CLS] + b_p); NSP and classifier logits are linear maps of pooled. Fills
// the requested fields of `out`. cls: [padded B][H].
void pooled_heads(const EncoderWeights& weights, const std::vector<float>& cls, int64_t batch, int64_t hidden,
                  const ForwardRequest& request, EncoderOutput& out);

// The stream rows at the requested (batch, position) pairs, [padded M][H]; a position outside
// the batch or on padding is an input error.
std::vector<float> gather_positions(const float* x, const PackedBatch& batch, const EncoderInput& in,
                                    const std::vector<std::pair<int64_t, int64_t>>& positions, int64_t hidden);

// Log-softmax over the vocabulary of decoder(LayerNorm(act(W_t h + b_t))) (TransformTied: BERT,
// RoFormer v1, ALBERT) or decoder(h) (DirectTied: RoFormer v2), one row of `picked` per position.
std::vector<std::vector<float>> mlm_head(const EncoderWeights& weights, const Linear& decoder, const float* picked,
                                         int64_t positions, int64_t hidden, int64_t embedding_size);

// Per-layer residual-stream statistics (docs/methods.md §2): the norm of
// x_0..x_L, and per layer the relative update and cosine between x_t and x_{t+1} and the mean
// attention entropy, summed over attended rows. With stats == nullptr every call does nothing.
class StreamStatsRecorder {
 public:
  StreamStatsRecorder(StreamStats* stats, const PackedBatch& batch, int64_t layers, int64_t hidden,
                      ForwardScratch& scratch);
  void embeddings(const float* x);    // x_0
  void before_layer(const float* x);  // keeps x_t
  AttentionEntropy* entropy() { return stats_ ? &entropy_ : nullptr; }
  void after_layer(int64_t layer, const float* x);  // x_{t+1}

 private:
  StreamStats* stats_;
  const PackedBatch& batch_;
  int64_t hidden_;
  float* previous_ = nullptr;
  AttentionEntropy entropy_;
};

}  // namespace nspbert
