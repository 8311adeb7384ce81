// RoFormer v1 (junnyu/roformer_chinese_*) and v2 (junnyu/roformer_v2_chinese_char_*): rotary
// positions in the interleaved-pair layout, post-norm. v2 drops every bias and uses the gain-free
// RMS norm, and its MLM logits come straight from the tied embedding.
#include "models/family.h"

namespace nspbert {

static void configure_rotary(const ConfigReader& config, EncoderSpec& spec) {
  spec.norm_placement = NormPlacement::Post;
  spec.position_kind = PositionKind::Rotary;
  spec.rotary_value = config.boolean("rotary_value", false);
  if (spec.head_dim() % 2 != 0) config.reject("hidden_size", "gives an odd head size; rotary needs pairs");
}

static void configure_roformer(const ConfigReader& config, EncoderSpec& spec) {
  configure_rotary(config, spec);
  spec.norm_kind = NormKind::LayerNorm;
}

static void configure_roformer_v2(const ConfigReader& config, EncoderSpec& spec) {
  configure_rotary(config, spec);
  spec.norm_kind = NormKind::RmsNoGain;
  spec.bias = config.boolean("use_bias", false);
}

const FamilyDefinition& roformer_family() {
  static const FamilyDefinition family{Family::RoFormer,
                                       {"roformer", "attention.output.LayerNorm", "output.LayerNorm", "LayerNorm",
                                        nullptr},
                                       MlmKind::TransformTied,
                                       configure_roformer};
  return family;
}

const FamilyDefinition& roformer_v2_family() {
  static const FamilyDefinition family{
      Family::RoFormerV2, {"roformer", nullptr, nullptr, nullptr, nullptr}, MlmKind::DirectTied, configure_roformer_v2};
  return family;
}

}  // namespace nspbert
