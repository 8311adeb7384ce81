// nspbert inspect: what a model folder holds and how the engine will run it.
#include <iostream>
#include <memory>

#include "engine/error.h"
#include "models/model_info.h"
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
  nlohmann::json info = model_info(model);
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
