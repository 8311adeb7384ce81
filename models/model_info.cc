#include "models/model_info.h"

#include <string>
#include <vector>

#include "engine/ops/cpu_isa.h"

namespace nspbert {

nlohmann::json model_info(const Model& model) {
  const EncoderSpec& s = model.spec;
  const HeadsPresent heads = model.encoder->heads();
  std::vector<std::string> head_names;
  if (heads.pooler) head_names.push_back("pooler");
  if (heads.nsp) head_names.push_back("nsp");
  if (heads.mlm) head_names.push_back("mlm");
  if (heads.classifier) head_names.push_back("classifier");
  return {
      {"model", model.dir.string()},
      {"family", family_name(s.family)},
      {"layers", s.layers},
      {"hidden_size", s.hidden},
      {"attention_heads", s.heads},
      {"intermediate_size", s.intermediate},
      {"embedding_size", s.embedding_size},
      {"vocab_size", s.vocab_size},
      {"type_vocab_size", s.type_vocab_size},
      {"max_position_embeddings", s.max_positions},
      {"norm_placement", norm_placement_name(s.norm_placement)},
      {"norm_kind", norm_kind_name(s.norm_kind)},
      {"norm_eps", s.norm_eps},
      {"position_kind", position_kind_name(s.position_kind)},
      {"rotary_value", s.rotary_value},
      {"activation", activation_name(s.activation)},
      {"bias", s.bias},
      {"heads", head_names},
      {"stored_dtype", model.stored_dtype},
      {"weight_files", model.weight_files},
      {"parameters", model.parameter_count},
      {"unused_tensors", model.unused_tensors},
      {"cpu_isa", cpu_isa_name()},
      {"element_kernels", element_kernel_level()},
      {"threads", thread_count()},
  };
}

}  // namespace nspbert
