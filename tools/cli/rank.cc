// nspbert rank: the input texts ordered by distance to a query, cosine or geodesic (docs/methods.md §7).
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "engine/similarity/geodesic.h"
#include "engine/similarity/sentence_vectors.h"
#include "models/similarity_outputs.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct RankArgs {
  ModelOptions model;
  TextSource source;
  LengthOptions length;
  std::string field = "text";
  std::string query;
  std::string distance = "cosine";
  int64_t k = 10;
  std::string pooling = "mean";
  int64_t top = 0;
  std::string format = "jsonl";
};

int run(const RankArgs& args) {
  const std::vector<InputRecord> records = read_records(args.source);
  Model model = args.model.load();
  const AttentionOptions attention = args.model.attention(model.spec);
  SequenceBuilder builder(args.length.limit(), model, attention, /*pairs=*/false);

  std::string error;
  std::optional<Sequence> query = builder.single(args.query, error);
  if (!query) fail_input("the query cannot be used: " + error);
  std::vector<Sequence> sequences;
  std::vector<const InputRecord*> ranked;  // the record of each text sequence
  std::vector<std::string> texts;
  std::vector<nlohmann::json> failed;
  for (const InputRecord& record : records) {
    error = record.error;
    std::optional<std::string> text;
    if (error.empty()) text = string_field(record.object, args.field, error);
    std::optional<Sequence> s;
    if (text) s = builder.single(*text, error);
    if (!s) {
      failed.push_back({{"line", record.line}, {"error", error}});
      continue;
    }
    sequences.push_back(std::move(*s));
    ranked.push_back(&record);
    texts.push_back(std::move(*text));
  }
  sequences.push_back(std::move(*query));  // the last row is the query
  builder.print_notes();

  const std::vector<double> distances = query_distances(*model.encoder, sequences, *parse_pooling(args.pooling),
                                                       attention, args.distance == "geodesic", args.k);

  std::vector<size_t> lines;
  for (const InputRecord* record : ranked) lines.push_back(record->line);
  std::vector<nlohmann::json> results = ranked_rows(distances, texts, lines, args.top);
  results.insert(results.end(), failed.begin(), failed.end());
  write_results(results, args.format);
  return failed.empty() ? 0 : 1;
}

const bool registered = register_command(
    {"rank", "Order the input texts by distance to --query: cosine, or geodesic over their kNN graph",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<RankArgs>();
       args->model.add_to(app);
       args->source.add_to(app, /*positional_texts=*/true);
       args->length.add_to(app);
       app.add_option("--field", args->field, "JSONL field holding the text")->capture_default_str();
       app.add_option("--query", args->query, "The text to rank against")->required();
       app.add_option("--distance", args->distance,
                      "cosine: 1 - cos of the sentence vectors; geodesic: shortest path from the query in the "
                      "k-nearest-neighbour graph over the query and the texts")
           ->check(CLI::IsMember({"cosine", "geodesic"}))
           ->capture_default_str();
       app.add_option("--k", args->k, "Neighbours per node in the geodesic kNN graph")
           ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
           ->capture_default_str();
       app.add_option("--pooling", args->pooling, "Sentence vector: mean, cls or pooler")
           ->check(CLI::IsMember({"mean", "cls", "pooler"}))
           ->capture_default_str();
       app.add_option("--top", args->top, "Print only the best N texts (default: all)")
           ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
       app.add_option("--format", args->format, "json (one array) or jsonl (one object per line)")
           ->check(CLI::IsMember({"json", "jsonl"}))
           ->capture_default_str();
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
