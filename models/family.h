#pragma once
// A model family = how its config.json maps onto EncoderSpec + where its weights live.
// One small file per family (bert.cc, megatron_bert.cc, roformer.cc) defines both.
#include "engine/encoder.h"
#include "engine/encoder_spec.h"
#include "models/config_reader.h"

namespace nspbert {

struct WeightNames {
  const char* prefix;          // "bert" or "roformer"; checkpoints may also omit it
  const char* attention_norm;  // under encoder.layer.N.
  const char* ffn_norm;
  const char* embedding_norm;  // under embeddings., nullptr when the family has none with weights
  const char* final_norm;      // under encoder., nullptr when none
};

struct FamilyDefinition {
  Family family;
  WeightNames names;
  MlmKind mlm;
  // Reads the family-specific fields after the common ones (sizes, activation, eps) are set.
  void (*configure)(const ConfigReader& config, EncoderSpec& spec);
};

const FamilyDefinition& bert_family();
const FamilyDefinition& megatron_bert_family();
const FamilyDefinition& roformer_family();     // v1
const FamilyDefinition& roformer_v2_family();  // rms_norm, no bias

// Picks the family from model_type (and, for roformer, norm_type / use_bias).
const FamilyDefinition& family_for_config(const ConfigReader& config);

}  // namespace nspbert
