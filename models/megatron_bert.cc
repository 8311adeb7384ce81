// Megatron-BERT (nvidia/megatron-bert-*, Erlangshen-MegatronBert): pre-norm, per-layer
// attention.ln and ln, one final encoder.ln, no embedding norm.
#include "models/family.h"

namespace nspbert {

static void configure_megatron(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Pre;
  spec.norm_kind = NormKind::LayerNorm;
  spec.position_kind = PositionKind::Absolute;
}

const FamilyDefinition& megatron_bert_family() {
  static const FamilyDefinition family{
      Family::MegatronBert, {"bert", "attention.ln", "ln", nullptr, "ln"}, MlmKind::TransformTied, configure_megatron};
  return family;
}

}  // namespace nspbert
