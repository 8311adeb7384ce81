#pragma once
// A model family is data: its config rules (how config.json maps onto EncoderSpec) and its tensor
// table (where each weight the encoder binds lives in the family's checkpoints). models/NAME.cc
// defines one FamilyDefinition; models/family_registry.cc lists them. read_encoder_spec and
// bind_weights (models/model.cc) walk the definition; nothing else knows a family.
// README "Adding a model family" says what a new one takes.
#include <cstdint>
#include <vector>

#include "engine/encoder.h"
#include "engine/encoder_spec.h"
#include "models/config_reader.h"

namespace nspbert {

// Whether the family maps E-wide embeddings to the hidden width with a linear layer.
enum class EmbeddingProjection {
  None,             // embedding_size must equal hidden_size
  WhenSizesDiffer,  // RoFormer: embeddings_project exists only when E != H
  Always,           // ALBERT: embedding_hidden_mapping_in exists even when E == H
};

// Tensor names of one encoder layer, relative to the layer's scope. ".weight" / ".bias" are
// appended. A norm name may be nullptr when the family's norm has no tensors (RmsNoGain).
struct LayerTensorNames {
  const char* query;
  const char* key;
  const char* value;
  const char* attention_out;
  const char* attention_norm;  // post: after the attention residual; pre: before attention
  const char* ffn_in;
  const char* ffn_out;
  const char* ffn_norm;
};

// Where every tensor lives. Body names are relative to `prefix` ("bert." ...), which checkpoints
// may also omit; head names are absolute. nullptr = the family has no such tensor.
struct TensorTable {
  const char* prefix;
  const char* word_embeddings;
  const char* position_embeddings;  // absolute-position families
  const char* type_embeddings;
  const char* embedding_norm;  // LayerNorm-family norms only; RmsNoGain needs no tensors
  const char* embedding_projection;
  EmbeddingProjection projection;
  // The scope of encoder layer l: layer_scope with "{}" replaced by the layer's stored index
  // (FamilyConfigRules::stored_layer), so layers that share weights are one table entry.
  const char* layer_scope;
  LayerTensorNames layer;
  const char* final_norm;  // pre-norm families
  const char* pooler;      // tanh(W h_cls + b)
  const char* nsp;         // [2, H] on the pooled output, index 0 = "B follows A" (NSP or SOP)
  const char* classifier;  // sequence-classification head on the pooled output
  MlmKind mlm;
  const char* mlm_transform;       // TransformTied: dense H -> E, activation fused
  const char* mlm_transform_norm;  // TransformTied: LayerNorm over E
  const char* mlm_decoder;         // stored [V][E] decoder; tied to word_embeddings when absent
  const char* mlm_bias;            // [V]; the decoder's own ".bias" is read when this is absent
};

// How config.json maps onto EncoderSpec beyond the fields every family shares (sizes,
// activation, eps, read by read_encoder_spec).
struct FamilyConfigRules {
  const char* default_activation;  // hidden_act when config.json has none (HF's default per family)
  int64_t default_embedding_size;  // embedding_size when config.json has none; 0 = hidden_size
  // Sets placement, norm kind, positions and the family's own fields; rejects what it cannot run.
  void (*configure)(const ConfigReader& config, EncoderSpec& spec);
  // The stored layer encoder layer `layer` reads; nullptr = its own index. Cross-layer sharing
  // (ALBERT) maps several layers to one.
  int64_t (*stored_layer)(const ConfigReader& config, const EncoderSpec& spec, int64_t layer);
};

struct FamilyDefinition {
  Family family;           // its name, as inspect prints it
  const char* model_type;  // the config.json model_type it answers to
  // Families sharing a model_type (RoFormer v1 and v2) tell themselves apart here; the registry
  // takes the first whose test accepts the config. nullptr = any config of the model_type.
  bool (*matches)(const ConfigReader& config);
  FamilyConfigRules config;
  TensorTable tensors;
};

// Every family, in registry order (models/family_registry.cc).
const std::vector<const FamilyDefinition*>& registered_families();

// The family config.json describes (model_type, then the family's own test); rejects an unknown one.
const FamilyDefinition& family_for_config(const ConfigReader& config);

// The storage scope of encoder layer `layer`: tensors.layer_scope with "{}" filled in.
std::string layer_scope(const FamilyDefinition& family, const ConfigReader& config, const EncoderSpec& spec,
                        int64_t layer);

}  // namespace nspbert
