// BERT (bert-base-chinese, bert-base-uncased, UER, HFL): post-norm LayerNorm, absolute positions.
#include "models/family.h"

namespace nspbert {

namespace {

void configure_bert(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Post;
  spec.norm_kind = NormKind::LayerNorm;
  spec.position_kind = PositionKind::Absolute;
  const std::string position_type = config.string("position_embedding_type", "absolute");
  if (position_type != "absolute")
    config.reject("position_embedding_type", "is '" + position_type + "'; only 'absolute' is supported");
}

}  // namespace

extern const FamilyDefinition kBertFamily;  // listed in models/family_registry.cc

// HF BertForPreTraining names.
const FamilyDefinition kBertFamily{
    .family = Family{"bert"},
    .model_type = "bert",
    .matches = nullptr,
    .config = {.default_activation = "gelu",
               .default_embedding_size = 0,
               .configure = configure_bert,
               .stored_layer = nullptr},
    .tensors = {.prefix = "bert",
                .word_embeddings = "embeddings.word_embeddings",
                .position_embeddings = "embeddings.position_embeddings",
                .type_embeddings = "embeddings.token_type_embeddings",
                .embedding_norm = "embeddings.LayerNorm",
                .embedding_projection = nullptr,
                .projection = EmbeddingProjection::None,
                .layer_scope = "encoder.layer.{}.",
                .layer = {.query = "attention.self.query",
                          .key = "attention.self.key",
                          .value = "attention.self.value",
                          .attention_out = "attention.output.dense",
                          .attention_norm = "attention.output.LayerNorm",
                          .ffn_in = "intermediate.dense",
                          .ffn_out = "output.dense",
                          .ffn_norm = "output.LayerNorm"},
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
