// nspbert rank: the input texts ordered by distance to a query, cosine or geodesic (docs/methods.md §7).
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "engine/similarity/geodesic.h"
#include "engine/similarity/sentence_vectors.h"
#include "models/similarity_outputs.h"
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
  io::Progress progress("ranked");
  const AttentionOptions attention = args.encode.model.attention(model.spec);
  SequenceBuilder builder(args.encode.length.limit(), model, attention, /*pairs=*/false);

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
      failed.push_back(bad_line(record, error));
      continue;
    }
    sequences.push_back(std::move(*s));
    ranked.push_back(&record);
    texts.push_back(std::move(*text));
  }
  sequences.push_back(std::move(*query));  // the last row is the query
  builder.print_notes();

  const std::vector<double> distances = query_distances(*model.encoder, sequences, *parse_pooling(args.encode.pooling),
                                                        attention, args.distance.geodesic(), args.distance.k);

  std::vector<size_t> lines;
  for (const io::JsonlItem* record : ranked) lines.push_back(static_cast<size_t>(record->line));
  progress.update(static_cast<int64_t>(records.size()));
  progress.finish();
  std::vector<nlohmann::json> results = ranked_rows(distances, texts, lines, args.top);
  results.insert(results.end(), failed.begin(), failed.end());
  write_results(results, args.format);
  return failed.empty() ? 0 : 1;
}

void declare(CLI::App& app, RankArgs& args) {
  args.encode.add_to(app, /*with_text_field=*/true);
  args.source.add_to(app, /*positional_texts=*/true);
  app.add_option("--query", args.query, "The text to rank against")->required();
  args.distance.add_to(app);
  app.add_option("--top-k", args.top, "Print only the best K texts (default: all)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->default_str("all");
  app.add_option("--top", args.top)->group("")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));  // old name
  add_format_option(app, args.format, {Format::Json, Format::Jsonl}, "json (one array) or jsonl (one object per line)");
}

const bool registered = register_command<RankArgs>(
    "rank", "Order the input texts by distance to --query: cosine, or geodesic over their kNN graph", declare, run);

}  // namespace
}  // namespace nspbert::cli
