// nspbert embed: one sentence vector per input text (mean, [CLS] or pooler), as JSON.
#include <memory>

#include "engine/error.h"
#include "engine/similarity/sentence_vectors.h"
#include "tools/cli/command.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/model_options.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct EmbedArgs {
  ModelOptions model;
  TextSource source;
  LengthOptions length;
  std::string field = "text";
  std::string pooling = "mean";
  bool normalize = false;
  std::string format = "jsonl";
};

int run(const EmbedArgs& args) {
  const Pooling pooling = *parse_pooling(args.pooling);
  RecordStream stream(args.source);
  Model model = args.model.load();
  const AttentionOptions attention = args.model.attention(model.spec);
  SequenceBuilder builder(args.length.limit(), model, attention, /*pairs=*/false);
  ResultWriter writer(args.format);
  bool any_failed = false;

  std::vector<InputRecord> records;
  size_t written = 0;
  const InterruptGuard guard;
  while (!interrupted() && stream.next_chunk(kTextsPerRound, records)) {
    std::vector<nlohmann::json> results(records.size());
    std::vector<Sequence> sequences;
    std::vector<size_t> slot;  // result index of each sequence
    for (size_t i = 0; i < records.size(); ++i) {
      std::string error = records[i].error;
      std::optional<std::string> text;
      if (error.empty()) text = string_field(records[i].object, args.field, error);
      std::optional<Sequence> s;
      if (text) s = builder.single(*text, error);
      if (!s) {
        results[i] = {{"line", records[i].line}, {"error", error}};
        any_failed = true;
        continue;
      }
      results[i] = {{"text", *text}};
      sequences.push_back(std::move(*s));
      slot.push_back(i);
    }
    VectorSet vectors = sentence_vectors(*model.encoder, sequences, pooling, attention);
    if (args.normalize) vectors = normalized(vectors);
    for (size_t n = 0; n < slot.size(); ++n)
      results[slot[n]]["embedding"] = std::vector<float>(vectors.row(n), vectors.row(n) + vectors.dim);
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
    {"embed", "Sentence vectors: one {\"text\", \"embedding\"} per input text",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<EmbedArgs>();
       args->model.add_to(app);
       args->source.add_to(app, /*positional_texts=*/true);
       args->length.add_to(app);
       app.add_option("--field", args->field, "JSONL field holding the text")->capture_default_str();
       app.add_option("--pooling", args->pooling,
                      "mean: average of the last hidden states over the text's tokens; cls: the last hidden state "
                      "at [CLS]; pooler: the tanh pooler output")
           ->check(CLI::IsMember({"mean", "cls", "pooler"}))
           ->capture_default_str();
       app.add_flag("--normalize", args->normalize, "Scale every embedding to unit length");
       app.add_option("--format", args->format, "json (one array) or jsonl (one object per line)")
           ->check(CLI::IsMember({"json", "jsonl"}))
           ->capture_default_str();
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
