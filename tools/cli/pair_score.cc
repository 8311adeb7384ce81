// nspbert pair-score: cross-encoder scoring of text pairs, [CLS] a [SEP] b [SEP] through a
// sequence-classification head (docs/methods.md §7), as CoSENT-trained interactive models are used.
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "models/similarity_outputs.h"
#include "tools/cli/command.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/model_options.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct PairScoreArgs {
  ModelOptions model;
  TextSource source;
  LengthOptions length;
  std::string a_field = "sentence1";
  std::string b_field = "sentence2";
  std::string truncation = "longest-first";
  std::string format = "jsonl";
};

int run(const PairScoreArgs& args) {
  RecordStream stream(args.source);
  Model model = args.model.load();
  check_cross_encoder(*model.encoder);
  const AttentionOptions attention = args.model.attention(model.spec);
  SequenceBuilder builder(args.length.limit(), model, attention, /*pairs=*/true);
  const Truncation rule = args.truncation == "nsp" ? Truncation::NspReference : Truncation::LongestFirst;
  BatchPlan plan;
  plan.attention = attention;
  plan.classifier = true;
  ResultWriter writer(args.format);
  bool any_failed = false;

  std::vector<InputRecord> records;
  size_t written = 0;
  const InterruptGuard guard;
  while (!interrupted() && stream.next_chunk(kTextsPerRound, records)) {
    std::vector<nlohmann::json> results(records.size());
    std::vector<Sequence> sequences;
    std::vector<size_t> slot;
    for (size_t i = 0; i < records.size(); ++i) {
      std::string error = records[i].error;
      std::optional<std::string> a, b;
      if (error.empty()) a = string_field(records[i].object, args.a_field, error);
      if (a) b = string_field(records[i].object, args.b_field, error);
      std::optional<Sequence> s;
      if (b) s = builder.pair(*a, *b, rule, error);
      if (!s) {
        results[i] = {{"line", records[i].line}, {"error", error}};
        any_failed = true;
        continue;
      }
      results[i] = {{"a", *a}, {"b", *b}};
      sequences.push_back(std::move(*s));
      slot.push_back(i);
    }
    const std::vector<SequenceOutputs> out = run_sequences(*model.encoder, sequences, plan);
    for (size_t n = 0; n < slot.size(); ++n) results[slot[n]].update(pair_scores(out[n].classifier_logits));
    for (const auto& r : results) writer.add(r);
    writer.flush();
    written += results.size();
  }
  if (interrupted()) return report_interrupted(written, "they are complete on standard output, the rest of the input was not read");
  builder.print_notes();
  writer.finish();
  return any_failed ? 1 : 0;
}

const bool registered = register_command(
    {"pair-score", "Score JSONL text pairs with a cross-encoder (sequence-classification) checkpoint",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<PairScoreArgs>();
       args->model.add_to(app);
       args->source.add_to(app, /*positional_texts=*/false);
       args->length.add_to(app);
       app.add_option("--a-field", args->a_field, "JSONL field of the first text")->capture_default_str();
       app.add_option("--b-field", args->b_field, "JSONL field of the second text")->capture_default_str();
       app.add_option("--truncation", args->truncation,
                      "Which text loses tokens past --max-length: longest-first (Hugging Face's rule, ties from b) "
                      "or nsp (ties from a)")
           ->check(CLI::IsMember({"longest-first", "nsp"}))
           ->capture_default_str();
       app.add_option("--format", args->format, "json (one array) or jsonl (one object per line)")
           ->check(CLI::IsMember({"json", "jsonl"}))
           ->capture_default_str();
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
