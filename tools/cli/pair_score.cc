// nspbert pair-score: cross-encoder scoring of text pairs, [CLS] a [SEP] b [SEP] through a
// sequence-classification head (docs/methods.md §7), as CoSENT-trained interactive models are used.
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "models/similarity_outputs.h"
#include "tools/cli/command.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct PairScoreArgs {
  EncodeOptions encode;
  // Lines per encoder round: big enough for good batches, small enough to stream.
  StreamOptions stream{2048};
  std::string a_field = "sentence1";
  std::string b_field = "sentence2";
  std::string truncation = "longest-first";
};

int run(const PairScoreArgs& args) {
  const std::unique_ptr<io::JsonlReader> reader = args.stream.open(args.a_field);
  Model model = args.encode.model.load();
  check_cross_encoder(*model.encoder);
  const AttentionOptions attention = args.encode.model.attention(model.spec);
  SequenceBuilder builder(args.encode.length.limit(), model, attention, /*pairs=*/true);
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
  auto score_chunk = [&](std::vector<io::JsonlItem>& items, LineSink& sink) {
    EncodedChunk chunk = encode_chunk(items, read);
    const std::vector<SequenceOutputs> out = run_sequences(*model.encoder, chunk.sequences, plan);
    for (size_t n = 0; n < chunk.slot.size(); ++n) chunk.results[chunk.slot[n]].update(pair_scores(out[n].classifier_logits));
    for (size_t i = 0; i < items.size(); ++i) sink.add(items[i].line, chunk.results[i]);
  };
  const int code = run_stream(args.stream, *reader, {}, each_chunk(args.stream.chunk_size, score_chunk));
  if (code != kInterruptedExitCode) builder.print_notes();
  return code;
}

const bool registered = register_command(
    {"pair-score", "Score JSONL text pairs with a cross-encoder (sequence-classification) checkpoint",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<PairScoreArgs>();
       args->encode.add_to(app, /*with_text_field=*/false);
       args->stream.add_to(app, /*positional_texts=*/false);
       add_format_option(app, args->stream.format, {Format::Json, Format::Jsonl}, "json (one array) or jsonl (one object per line)");
       app.add_option("--a-field", args->a_field, "JSONL field of the first text")->capture_default_str();
       app.add_option("--b-field", args->b_field, "JSONL field of the second text")->capture_default_str();
       app.add_option("--truncation", args->truncation,
                      "Which text loses tokens past --max-length: longest-first (Hugging Face's rule, ties from b) "
                      "or nsp (ties from a)")
           ->check(CLI::IsMember({"longest-first", "nsp"}))
           ->capture_default_str();
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
