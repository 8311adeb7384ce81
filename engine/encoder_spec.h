#pragma once
// The typed description of an encoder, resolved once from config.json. Every variant the
// kernels care about is a field here; nothing downstream looks at names or strings.
#include <cstdint>
#include <cstring>
#include <string>

namespace nspbert {

// A model family's identity, as inspect and compare-norms print it. Families are data in
// models/ (models/family.h, one file each): nothing here or in the kernels branches on one, every
// behaviour they differ in is a typed field of EncoderSpec.
struct Family {
  const char* name = "bert";
  // The families that were an enum before the registry, kept so code naming them still compiles.
  static const Family Bert, MegatronBert, RoFormer, RoFormerV2;
  friend bool operator==(Family a, Family b) { return std::strcmp(a.name, b.name) == 0; }
};
inline const Family Family::Bert{"bert"};
inline const Family Family::MegatronBert{"megatron-bert"};
inline const Family Family::RoFormer{"roformer"};
inline const Family Family::RoFormerV2{"roformer-v2"};

enum class NormPlacement { Pre, Post };
enum class NormKind { LayerNorm, RmsNoGain };
enum class PositionKind { Absolute, Rotary };
enum class Activation { GeluErf, GeluTanh, Relu, Silu };
// How the GEMMs run. f32 is the exact path; bf16 and int8 trade a little accuracy for speed.
enum class Precision { F32, BF16, Int8 };

const char* family_name(Family f);
const char* norm_placement_name(NormPlacement p);
const char* norm_kind_name(NormKind k);
const char* position_kind_name(PositionKind k);
const char* activation_name(Activation a);
const char* precision_name(Precision p);
// "f32", "bf16", "int8", or "auto" (engine/ops/cpu_isa.h: bf16 on a CPU with native bf16, else
// f32); throws a usage error.
Precision parse_precision(const std::string& name);

struct EncoderSpec {
  Family family = Family::Bert;
  int64_t vocab_size = 0;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t intermediate = 0;
  int64_t embedding_size = 0;  // == hidden unless the checkpoint projects embeddings (RoFormer, ALBERT)
  int64_t type_vocab_size = 2;
  int64_t max_positions = 512;  // absolute table size, or the training length for rotary models
  float norm_eps = 1e-12f;
  NormPlacement norm_placement = NormPlacement::Post;
  NormKind norm_kind = NormKind::LayerNorm;
  PositionKind position_kind = PositionKind::Absolute;
  Activation activation = Activation::GeluErf;
  bool bias = true;
  bool rotary_value = false;

  int64_t head_dim() const { return hidden / heads; }
};

// Inference-time attention variants (docs/methods.md §5). They change the computation, not the
// weights.
struct AttentionOptions {
  int64_t window = 0;              // > 0: token i attends to j only when |i - j| <= window
  double logn_base = 0.0;          // > 1: logits scaled by log(n) / log(logn_base), n = valid length
  bool logn_at_least_one = false;  // post 9708's test-time variant: max(1, log_m n)
  bool hwfa = false;               // window in layers 0..L-2, full attention + log-n in the last layer
};

// Ablations for compare-norms: run a checkpoint as if it had the other placement, or DeepNorm-style
// residual scaling x_{t+1} = Norm(alpha x_t + F(x_t)).
struct Ablation {
  bool swap_norm_placement = false;
  float residual_scale = 1.0f;
  bool active() const { return swap_norm_placement || residual_scale != 1.0f; }
};

}  // namespace nspbert
