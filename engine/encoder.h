#pragma once
// The encoder graph: embeddings -> L layers (pre or post norm, one switch) -> heads.
// It holds the bound weights; forward() chains the blocks of engine/encoder_blocks.h, and the
// math lives in engine/ops.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "engine/encoder_spec.h"
#include "engine/ops/linear.h"
#include "engine/ops/norm.h"

namespace nspbert {

struct LayerWeights {
  Linear qkv;  // Q, K and V fused into one [3H, H] GEMM at load
  Linear attention_out;
  NormWeights attention_norm;  // post: after the attention residual; pre: before attention
  Linear ffn_in;               // activation fused as a post-op
  Linear ffn_out;
  NormWeights ffn_norm;
};

enum class MlmKind {
  None,
  TransformTied,  // BERT / RoFormer v1: dense + act + LayerNorm, then decoder (tied) + bias
  DirectTied,     // RoFormer v2: hidden @ word_embeddings^T
};

struct EncoderWeights {
  std::vector<float> word_embeddings;      // [V][E]
  std::vector<float> position_embeddings;  // [P][E], empty for rotary models
  std::vector<float> type_embeddings;      // [T][E]
  std::optional<NormWeights> embedding_norm;
  std::optional<Linear> embedding_projection;  // E -> H
  std::vector<LayerWeights> layers;
  std::optional<NormWeights> final_norm;  // pre-norm models
  std::optional<Linear> pooler;           // tanh(W h_cls + b)
  std::optional<Linear> nsp;              // [2, H]
  MlmKind mlm = MlmKind::None;
  std::optional<Linear> mlm_transform;  // H -> E, activation fused
  std::optional<NormWeights> mlm_transform_norm;
  // E -> V decoder: a stored matrix [V][E], or empty when tied to word_embeddings. Packed on the
  // first MLM request, so NSP-only work never holds a second V x E copy.
  std::vector<float> mlm_decoder_weight;
  std::vector<float> mlm_decoder_bias;  // [V] or empty
  std::optional<Linear> classifier;     // sequence-classification head on the pooled output
};

struct EncoderInput {
  int64_t batch = 0;
  int64_t seq_len = 0;
  std::vector<int32_t> ids;             // [B*T]
  std::vector<int32_t> type_ids;        // [B*T], empty = zeros
  std::vector<uint8_t> attention_mask;  // [B*T], empty = ones
  std::vector<int64_t> position_ids;    // [B*T], empty = 0..T-1
};

struct ForwardRequest {
  AttentionOptions attention;
  Ablation ablation;
  bool want_last_hidden = false;  // [B][T][H], padded rows zero
  bool want_pooled = false;
  bool want_nsp = false;
  bool want_classifier = false;
  bool want_stats = false;
  std::vector<std::pair<int64_t, int64_t>> mlm_positions;  // (batch, position) -> log-probs over V
};

// Residual-stream statistics (docs/methods.md §2), summed so batches can be merged.
struct StreamStats {
  std::vector<double> norm_sum;               // L+1 entries: x_0 .. x_L
  std::vector<double> relative_update_sum;    // L entries
  std::vector<double> cosine_next_sum;        // L entries
  std::vector<double> attention_entropy_sum;  // L entries, over heads and valid query tokens
  std::vector<int64_t> attention_entropy_count;
  int64_t tokens = 0;

  void merge(const StreamStats& other);
  std::vector<double> norm() const;
  std::vector<double> relative_update() const;
  std::vector<double> cosine_next() const;
  std::vector<double> attention_entropy() const;
};

struct EncoderOutput {
  int64_t batch = 0, seq_len = 0, hidden = 0;
  std::vector<float> last_hidden;                 // [B][T][H]
  std::vector<float> pooled;                      // [B][H]
  std::vector<float> nsp_logits;                  // [B][2]
  std::vector<float> classifier_logits;           // [B][C]
  std::vector<std::vector<float>> mlm_log_probs;  // per requested position, [V]
  StreamStats stats;
};

struct HeadsPresent {
  bool pooler = false, nsp = false, mlm = false, classifier = false;
};

class Encoder {
 public:
  Encoder(EncoderSpec spec, EncoderWeights weights);
  const EncoderSpec& spec() const { return spec_; }
  HeadsPresent heads() const;
  int64_t classifier_outputs() const { return weights_.classifier ? weights_.classifier->out() : 0; }

  // Validates the input against the spec (ids in range, segments, positions) and runs it.
  EncoderOutput forward(const EncoderInput& input, const ForwardRequest& request) const;

 private:
  const Linear& mlm_decoder() const;
  void check_heads(const ForwardRequest& request) const;  // a requested head the checkpoint lacks fails

  EncoderSpec spec_;
  EncoderWeights weights_;
  struct LazyDecoder {
    std::once_flag once;
    Linear linear;
  };
  std::unique_ptr<LazyDecoder> decoder_ = std::make_unique<LazyDecoder>();
};

}  // namespace nspbert
