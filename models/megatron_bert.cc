// Megatron-BERT (nvidia/megatron-bert-*, Erlangshen-MegatronBert): pre-norm, per-layer
// attention.ln and ln, one final encoder.ln, no embedding norm; otherwise BERT's names.
#include "models/family.h"

namespace nspbert {

namespace {

void configure_megatron(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Pre;
  spec.norm_kind = NormKind::LayerNorm;
  spec.position_kind = PositionKind::Absolute;
}

}  // namespace

extern const FamilyDefinition kMegatronBertFamily;  // listed in models/family_registry.cc

// HF MegatronBertForPreTraining names.
const FamilyDefinition kMegatronBertFamily{
    .family = Family{"megatron-bert"},
    .model_type = "megatron-bert",
    .matches = nullptr,
    .config = {.default_activation = "gelu",
               .default_embedding_size = 0,
               .configure = configure_megatron,
               .stored_layer = nullptr},
    .tensors = {.prefix = "bert",
                .word_embeddings = "embeddings.word_embeddings",
                .position_embeddings = "embeddings.position_embeddings",
                .type_embeddings = "embeddings.token_type_embeddings",
                .embedding_norm = nullptr,
                .embedding_projection = nullptr,
                .projection = EmbeddingProjection::None,
                .layer_scope = "encoder.layer.{}.",
                .layer = {.query = "attention.self.query",
                          .key = "attention.self.key",
                          .value = "attention.self.value",
                          .attention_out = "attention.output.dense",
                          .attention_norm = "attention.ln",
                          .ffn_in = "intermediate.dense",
                          .ffn_out = "output.dense",
                          .ffn_norm = "ln"},
                .final_norm = "encoder.ln",
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
