// ALBERT (voidful/albert_chinese_*, albert_zh converted to Hugging Face names, albert-base-v2):
// BERT's post-norm layer with two twists. Factorised embeddings: the tables are E wide
// (embedding_size, 128 in every released model) and encoder.embedding_hidden_mapping_in maps
// them to H. Cross-layer sharing: every layer reads the weights of its layer group
// (albert_layer_groups.G.albert_layers.0), one group in every released model, so twelve layers
// are one table entry. The sentence-order (SOP) head, sop_classifier.classifier, scores
// "B follows A" at index 0 like BERT's NSP head, so it serves as the NSP scorer.
#include <string>

#include "models/family.h"

namespace nspbert {

namespace {

void configure_albert(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Post;
  spec.norm_kind = NormKind::LayerNorm;
  spec.position_kind = PositionKind::Absolute;
  const std::string position_type = config.string("position_embedding_type", "absolute");
  if (position_type != "absolute")
    config.reject("position_embedding_type", "is '" + position_type + "'; only 'absolute' is supported");
  if (config.positive_int("num_hidden_groups", 1) > spec.layers)
    config.reject("num_hidden_groups", "is larger than num_hidden_layers");
  // HF runs inner_group_num layers per group step; no released checkpoint has more than one.
  if (config.positive_int("inner_group_num", 1) != 1)
    config.reject("inner_group_num", "is not 1; only one layer per layer group is supported");
}

// HF AlbertTransformer: layer l runs group int(l / (L / G)).
int64_t albert_group(const ConfigReader& config, const EncoderSpec& spec, int64_t layer) {
  return layer * config.positive_int("num_hidden_groups", 1) / spec.layers;
}

}  // namespace

extern const FamilyDefinition kAlbertFamily;  // listed in models/family_registry.cc

// HF AlbertForPreTraining names (AlbertModel under "albert.", heads "predictions", "sop_classifier").
const FamilyDefinition kAlbertFamily{
    .family = Family{"albert"},
    .model_type = "albert",
    .matches = nullptr,
    .config = {.default_activation = "gelu_new",
               .default_embedding_size = 128,
               .configure = configure_albert,
               .stored_layer = albert_group},
    .tensors = {.prefix = "albert",
                .word_embeddings = "embeddings.word_embeddings",
                .position_embeddings = "embeddings.position_embeddings",
                .type_embeddings = "embeddings.token_type_embeddings",
                .embedding_norm = "embeddings.LayerNorm",
                .embedding_projection = "encoder.embedding_hidden_mapping_in",
                .projection = EmbeddingProjection::Always,
                .layer_scope = "encoder.albert_layer_groups.{}.albert_layers.0.",
                .layer = {.query = "attention.query",
                          .key = "attention.key",
                          .value = "attention.value",
                          .attention_out = "attention.dense",
                          .attention_norm = "attention.LayerNorm",
                          .ffn_in = "ffn",
                          .ffn_out = "ffn_output",
                          .ffn_norm = "full_layer_layer_norm"},
                .final_norm = nullptr,
                .pooler = "pooler",
                .nsp = "sop_classifier.classifier",
                .classifier = "classifier",
                .mlm = MlmKind::TransformTied,
                .mlm_transform = "predictions.dense",
                .mlm_transform_norm = "predictions.LayerNorm",
                .mlm_decoder = "predictions.decoder",
                .mlm_bias = "predictions.bias"},
};

}  // namespace nspbert
