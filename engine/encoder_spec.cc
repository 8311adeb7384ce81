#include "engine/encoder_spec.h"

#include "engine/error.h"
#include "engine/ops/cpu_isa.h"

namespace nspbert {

const char* family_name(Family f) { return f.name; }

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

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::F32: return "f32";
    case Precision::BF16: return "bf16";
    case Precision::Int8: return "int8";
  }
  return "?";
}

Precision parse_precision(const std::string& name) {
  if (name == "f32") return Precision::F32;
  if (name == "bf16") return Precision::BF16;
  if (name == "int8") return Precision::Int8;
  if (name == "auto") return auto_precision();
  fail_usage("unknown precision '" + name + "': use f32, bf16, int8 or auto");
}

}  // namespace nspbert
