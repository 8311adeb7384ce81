// RoFormer v1 (junnyu/roformer_chinese_*) and v2 (junnyu/roformer_v2_chinese_char_*): rotary
// positions in the interleaved-pair layout, post-norm. v2 drops every bias and uses the gain-free
// RMS norm, and its MLM logits come straight from the tied embedding. Both have model_type
// "roformer"; config.json's norm_type "rms_norm" tells v2 apart.
#include "models/family.h"

namespace nspbert {

namespace {

void configure_rotary(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Post;
  spec.position_kind = PositionKind::Rotary;
  spec.rotary_value = config.boolean("rotary_value", false);
  if (spec.head_dim() % 2 != 0) config.reject("hidden_size", "gives an odd head size; rotary needs pairs");
}

void configure_roformer(const ConfigReader& config, EncoderSpec& spec) {
  configure_rotary(config, spec);
  spec.norm_kind = NormKind::LayerNorm;
}

void configure_roformer_v2(const ConfigReader& config, EncoderSpec& spec) {
  configure_rotary(config, spec);
  spec.norm_kind = NormKind::RmsNoGain;
  spec.bias = config.boolean("use_bias", false);
}

bool is_v2(const ConfigReader& config) { return config.string("norm_type", "layer_norm") == "rms_norm"; }
bool is_v1(const ConfigReader& config) { return !is_v2(config); }

constexpr LayerTensorNames kRoFormerLayer{.query = "attention.self.query",
                                          .key = "attention.self.key",
                                          .value = "attention.self.value",
                                          .attention_out = "attention.output.dense",
                                          .attention_norm = "attention.output.LayerNorm",
                                          .ffn_in = "intermediate.dense",
                                          .ffn_out = "output.dense",
                                          .ffn_norm = "output.LayerNorm"};

}  // namespace

extern const FamilyDefinition kRoFormerV2Family;  // listed in models/family_registry.cc
extern const FamilyDefinition kRoFormerFamily;    // listed in models/family_registry.cc

const FamilyDefinition kRoFormerV2Family{
    .family = Family{"roformer-v2"},
    .model_type = "roformer",
    .matches = is_v2,
    .config = {.default_activation = "gelu",
               .default_embedding_size = 0,
               .configure = configure_roformer_v2,
               .stored_layer = nullptr},
    .tensors = {.prefix = "roformer",
                .word_embeddings = "embeddings.word_embeddings",
                .position_embeddings = nullptr,
                .type_embeddings = "embeddings.token_type_embeddings",
                .embedding_norm = nullptr,  // gain-free RMS norm: no tensors
                .embedding_projection = "embeddings_project",
                .projection = EmbeddingProjection::WhenSizesDiffer,
                .layer_scope = "encoder.layer.{}.",
                .layer = kRoFormerLayer,
                .final_norm = nullptr,
                .pooler = "pooler.dense",
                .nsp = "cls.seq_relationship",
                .classifier = "classifier",
                .mlm = MlmKind::DirectTied,
                .mlm_transform = nullptr,
                .mlm_transform_norm = nullptr,
                .mlm_decoder = "cls.predictions.decoder",
                .mlm_bias = "cls.predictions.bias"},
};

// HF RoFormerForMaskedLM names (+ an NSP head when a checkpoint has one).
const FamilyDefinition kRoFormerFamily{
    .family = Family{"roformer"},
    .model_type = "roformer",
    .matches = is_v1,
    .config = {.default_activation = "gelu",
               .default_embedding_size = 0,
               .configure = configure_roformer,
               .stored_layer = nullptr},
    .tensors = {.prefix = "roformer",
                .word_embeddings = "embeddings.word_embeddings",
                .position_embeddings = nullptr,
                .type_embeddings = "embeddings.token_type_embeddings",
                .embedding_norm = "embeddings.LayerNorm",
                .embedding_projection = "embeddings_project",
                .projection = EmbeddingProjection::WhenSizesDiffer,
                .layer_scope = "encoder.layer.{}.",
                .layer = kRoFormerLayer,
                .final_norm = nullptr,
                .pooler = "pooler.dense",
                .nsp = "cls.seq_relationship",
                .classifier = "classifier",
                .mlm = MlmKind::TransformTied,
                .mlm_transform = "cls.predictions.transform.dense",
                .mlm_transform_norm = "cls.predictions.transform.LayerNorm",
                .mlm_decoder = "cls.predictions.decoder",
                .mlm_bias = "cls.predictions.bias"},
};

}  // namespace nspbert
