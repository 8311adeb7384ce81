#include "engine/encoder_spec.h"

namespace nspbert {

const char* family_name(Family f) {
  switch (f) {
    case Family::Bert: return "bert";
    case Family::MegatronBert: return "megatron-bert";
    case Family::RoFormer: return "roformer";
    case Family::RoFormerV2: return "roformer-v2";
  }
  return "?";
}

const char* norm_placement_name(NormPlacement p) { return p == NormPlacement::Pre ? "pre" : "post"; }
const char* norm_kind_name(NormKind k) { return k == NormKind::LayerNorm ? "layer_norm" : "rms_norm (no gain)"; }
const char* position_kind_name(PositionKind k) { return k == PositionKind::Absolute ? "absolute" : "rotary"; }

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::GeluErf: return "gelu";
    case Activation::GeluTanh: return "gelu_new";
    case Activation::Relu: return "relu";
    case Activation::Silu: return "silu";
  }
  return "?";
}

}  // namespace nspbert
