// BERT (bert-base-chinese, bert-base-uncased, UER, HFL): post-norm LayerNorm, absolute positions.
#include "models/family.h"

namespace nspbert {

static void configure_bert(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Post;
  spec.norm_kind = NormKind::LayerNorm;
  spec.position_kind = PositionKind::Absolute;
  const std::string position_type = config.string("position_embedding_type", "absolute");
  if (position_type != "absolute")
    config.reject("position_embedding_type", "is '" + position_type + "'; only 'absolute' is supported");
}

const FamilyDefinition& bert_family() {
  static const FamilyDefinition family{
      Family::Bert,
      {"bert", "attention.output.LayerNorm", "output.LayerNorm", "LayerNorm", nullptr},
      MlmKind::TransformTied,
      configure_bert};
  return family;
}

}  // namespace nspbert
