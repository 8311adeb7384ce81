// nspbert rank: the input texts ordered by distance to a query, cosine or geodesic (METHODS.md §7).
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "engine/similarity/geodesic.h"
#include "engine/similarity/sentence_vectors.h"
#include "tools/cli/command.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct RankArgs {
  EncodeOptions encode;
  InputOptions source;
  std::string query;
  DistanceOptions distance{"cosine"};
  int64_t top = 0;
  Format format = Format::Jsonl;
};

int run(const RankArgs& args) {
  const std::vector<io::JsonlItem> records = read_all(*args.source.open(args.encode.field));
  Model model = args.encode.model.load();
  const AttentionOptions attention = args.encode.model.attention(model.spec);
  SequenceBuilder builder(args.encode.length, model, attention, /*pairs=*/false);

  std::string error;
  std::optional<Sequence> query = builder.single(args.query, error);
  if (!query) fail_input("the query cannot be used: " + error);
  std::vector<Sequence> sequences;
  std::vector<const io::JsonlItem*> ranked;  // the record of each text sequence
  std::vector<std::string> texts;
  std::vector<nlohmann::json> failed;
  for (const io::JsonlItem& record : records) {
    error = record.error;
    std::optional<std::string> text;
    if (error.empty()) text = string_field(record.value, args.encode.field, error);
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

  VectorSet vectors = sentence_vectors(*model.encoder, sequences, *parse_pooling(args.encode.pooling), attention);
  const std::vector<float> query_vector(vectors.row(vectors.count() - 1), vectors.row(vectors.count() - 1) + vectors.dim);
  vectors.values.resize(vectors.values.size() - vectors.dim);
  const std::vector<double> distances = args.distance.geodesic()
                                            ? geodesic_distances(vectors, query_vector.data(), args.distance.k)
                                            : cosine_distances(vectors, query_vector.data());

  std::vector<nlohmann::json> results;
  for (int64_t i : nearest_first(distances)) {
    if (args.top > 0 && static_cast<int64_t>(results.size()) >= args.top) break;
    const double d = distances[i];
    nlohmann::json r = {{"text", texts[i]}, {"line", ranked[i]->line}};
    if (std::isfinite(d)) {
      r["distance"] = d;
      r["score"] = proximity_score(d);
    } else {
      r["distance"] = nullptr;  // no path from the query in the kNN graph
      r["score"] = nullptr;
    }
    results.push_back(std::move(r));
  }
  results.insert(results.end(), failed.begin(), failed.end());
  write_results(results, args.format);
  return failed.empty() ? 0 : 1;
}

void declare(CLI::App& app, RankArgs& args) {
  args.encode.add_to(app, /*with_text_field=*/true);
  args.source.add_to(app, /*positional_texts=*/true);
  app.add_option("--query", args.query, "The text to rank against")->required();
  args.distance.add_to(app);
  app.add_option("--top", args.top, "Print only the best N texts (default: all)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  add_format_option(app, args.format, {Format::Json, Format::Jsonl}, "json (one array) or jsonl (one object per line)");
}

const bool registered = register_command<RankArgs>(
    "rank", "Order the input texts by distance to --query: cosine, or geodesic over their kNN graph", declare, run);

}  // namespace
}  // namespace nspbert::cli
