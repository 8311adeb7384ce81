// nspbert inspect: what a model folder holds and how the engine will run it.
#include <iostream>
#include <memory>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/error.h"
#include "tokenizer/tokenizer.h"
#include "tools/cli/command.h"
#include "tools/cli/json_io.h"
#include "tools/cli/model_options.h"

namespace nspbert::cli {
namespace {

struct InspectArgs {
  ModelOptions model;
  std::string format = "table";
};

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::sse41: return "sse41";
    default: return "other";
  }
}

// The tokenizer the other commands would build for this folder; inspect still reports the rest
// when it cannot be built, and says why.
void add_tokenizer_info(const InspectArgs& args, nlohmann::json& info) {
  try {
    const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::from_model_dir(args.model.model, args.model.tokenizer());
    info["tokenizer"] = tokenizer_kind_name(tokenizer->kind());
    info["vocabulary"] = tokenizer->source();
    info["vocabulary_size"] = tokenizer->vocab_size();
    if (tokenizer->kind() == TokenizerKind::JiebaWordPiece) info["jieba_dict"] = tokenizer->word_dictionary();
  } catch (const Error& e) {
    info["tokenizer"] = std::string("unusable: ") + e.what();
  }
}

int run(const InspectArgs& args) {
  Model model = args.model.load(/*need_tokenizer=*/false);
  const EncoderSpec& s = model.spec;
  const HeadsPresent heads = model.encoder->heads();
  std::vector<std::string> head_names;
  if (heads.pooler) head_names.push_back("pooler");
  if (heads.nsp) head_names.push_back("nsp");
  if (heads.mlm) head_names.push_back("mlm");
  if (heads.classifier) head_names.push_back("classifier");
  nlohmann::json info = {
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
      {"cpu_isa", isa_name(dnnl::get_effective_cpu_isa())},
      {"threads", thread_count()},
  };
  add_tokenizer_info(args, info);
  if (args.format == "json") {
    std::cout << dump(info) << "\n";
    return 0;
  }
  for (const auto& [key, value] : info.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : dump(value);
    if (key == "unused_tensors" && value.size() > 6) text = std::to_string(value.size()) + " tensors not used";
    std::printf("%-24s %s\n", key.c_str(), text.c_str());
  }
  return 0;
}

const bool registered = register_command(
    {"inspect",
     "Print a model's family, sizes, norm placement, positions, heads, dtype, tokenizer and the CPU it runs on",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<InspectArgs>();
       args->model.add_to(app, /*with_attention=*/false);
       app.add_option("--format", args->format, "table or json")->check(CLI::IsMember({"table", "json"}));
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
