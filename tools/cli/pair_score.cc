// nspbert pair-score: cross-encoder scoring of text pairs, [CLS] a [SEP] b [SEP] through a
// sequence-classification head (docs/methods.md §7), as CoSENT-trained interactive models are used.
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "models/similarity_outputs.h"
#include "tools/cli/command.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct PairScoreArgs {
  EncodeStreamOptions options;
  std::string a_field = "sentence1";
  std::string b_field = "sentence2";
  std::string truncation = "longest-first";
};

int run(const PairScoreArgs& args) {
  const std::unique_ptr<io::JsonlReader> reader = args.options.stream.open(args.a_field);
  Model model = args.options.encode.model.load();
  check_cross_encoder(*model.encoder);
  const AttentionOptions attention = args.options.encode.model.attention(model.spec);
  SequenceBuilder builder(args.options.encode.length.limit(), model, attention, /*pairs=*/true);
  const Truncation rule = args.truncation == "nsp" ? Truncation::NspReference : Truncation::LongestFirst;
  BatchPlan plan;
  plan.attention = attention;
  plan.classifier = true;
  auto read = [&](const nlohmann::json& line, nlohmann::json& result, std::string& error) -> std::optional<Sequence> {
    std::optional<std::string> a = string_field(line, args.a_field, error), b;
    if (a) b = string_field(line, args.b_field, error);
    if (!b) return std::nullopt;
    result = {{"a", *a}, {"b", *b}};
    return builder.pair(*a, *b, rule, error);
  };
  return run_encode_stream(args.options, *reader, builder, StreamWords(), read, [&](EncodedChunk& chunk) {
    const std::vector<SequenceOutputs> out = run_sequences(*model.encoder, chunk.sequences, plan);
    for (size_t n = 0; n < chunk.slot.size(); ++n)
      chunk.results[chunk.slot[n]].update(pair_scores(out[n].classifier_logits));
  });
}

void declare(CLI::App& app, PairScoreArgs& args) {
  args.options.add_to(app, /*with_text_field=*/false);
  app.add_option("--a-field", args.a_field, "JSONL field of the first text")->capture_default_str();
  app.add_option("--b-field", args.b_field, "JSONL field of the second text")->capture_default_str();
  app.add_option("--truncation", args.truncation,
                 "Which text loses tokens past --max-length: longest-first (Hugging Face's rule, ties from b) "
                 "or nsp (ties from a)")
      ->check(CLI::IsMember({"longest-first", "nsp"}))
      ->capture_default_str();
}

const bool registered = register_command<PairScoreArgs>(
    "pair-score", "Score JSONL text pairs with a cross-encoder (sequence-classification) checkpoint", declare, run);

}  // namespace
}  // namespace nspbert::cli
