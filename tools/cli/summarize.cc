// nspbert summarize: extractive, opinion-focused summary — the sentences nearest a centre (the
// query, or the mean sentence vector) by geodesic distance, in document order (docs/methods.md §7).
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "engine/similarity/geodesic.h"
#include "engine/similarity/sentence_vectors.h"
#include "engine/similarity/summarize.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct SummarizeArgs {
  ModelOptions model;
  TextSource source;
  LengthOptions length;
  std::string field = "text";
  std::string query;
  int64_t sentences = 3;
  int64_t k = 10;
  std::string distance = "geodesic";
  std::string pooling = "mean";
  bool no_split = false;
  std::string format = "json";
};

struct Sentence {
  size_t line;
  std::string text;
};

int run(const SummarizeArgs& args, bool with_query) {
  const std::vector<InputRecord> records = read_records(args.source);
  Model model = args.model.load();
  const AttentionOptions attention = args.model.attention(model.spec);
  SequenceBuilder builder(args.length.limit(), model, attention, /*pairs=*/false);

  std::vector<Sentence> sentences;
  std::vector<Sequence> sequences;
  std::vector<nlohmann::json> failed;
  for (const InputRecord& record : records) {
    std::string error = record.error;
    std::optional<std::string> text;
    if (error.empty()) text = string_field(record.object, args.field, error);
    if (!text) {
      failed.push_back({{"line", record.line}, {"error", error}});
      continue;
    }
    std::vector<std::string> pieces = args.no_split ? std::vector<std::string>{*text} : split_sentences(*text);
    // A refused sentence fails its whole line: a summary of part of a line would mislead.
    std::vector<Sequence> line_sequences;
    for (const std::string& piece : pieces) {
      std::optional<Sequence> s = builder.single(piece, error);
      if (!s) break;
      line_sequences.push_back(std::move(*s));
    }
    if (line_sequences.size() != pieces.size()) {
      failed.push_back({{"line", record.line}, {"error", error}});
      continue;
    }
    for (size_t i = 0; i < pieces.size(); ++i) {
      sentences.push_back({record.line, std::move(pieces[i])});
      sequences.push_back(std::move(line_sequences[i]));
    }
  }
  if (with_query) {
    std::string error;
    std::optional<Sequence> query = builder.single(args.query, error);
    if (!query) fail_input("the query cannot be used: " + error);
    sequences.push_back(std::move(*query));  // the last row is the query
  }
  builder.print_notes();

  std::vector<SummaryPick> picks;
  if (!sentences.empty()) {
    VectorSet vectors = sentence_vectors(*model.encoder, sequences, *parse_pooling(args.pooling), attention);
    std::vector<float> centre;
    if (with_query) {
      centre.assign(vectors.row(vectors.count() - 1), vectors.row(vectors.count() - 1) + vectors.dim);
      vectors.values.resize(vectors.values.size() - vectors.dim);
    } else {
      centre = mean_vector(vectors);
    }
    const std::vector<double> distances = args.distance == "geodesic"
                                              ? geodesic_distances(vectors, centre.data(), args.k)
                                              : cosine_distances(vectors, centre.data());
    picks = pick_nearest(distances, args.sentences);
  }

  std::vector<nlohmann::json> summary;
  for (const SummaryPick& p : picks)
    summary.push_back({{"index", p.index},
                       {"line", sentences[p.index].line},
                       {"text", sentences[p.index].text},
                       {"distance", p.distance},
                       {"score", proximity_score(p.distance)}});
  if (args.format == "jsonl") {
    summary.insert(summary.end(), failed.begin(), failed.end());
    write_results(summary, "jsonl");
  } else {
    std::string joined;
    for (const SummaryPick& p : picks) joined += sentences[p.index].text;
    nlohmann::json result = {{"centre", with_query ? "query" : "mean"},
                             {"distance", args.distance},
                             {"sentences", sentences.size()},
                             {"summary", summary},
                             {"text", joined}};
    if (with_query) result["query"] = args.query;
    if (!failed.empty()) result["errors"] = failed;
    write_results({result}, "jsonl");
  }
  return failed.empty() ? 0 : 1;
}

const bool registered = register_command(
    {"summarize",
     "Extractive summary: the N sentences nearest the query or the mean sentence vector by geodesic distance, "
     "in document order",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<SummarizeArgs>();
       args->model.add_to(app);
       args->source.add_to(app, /*positional_texts=*/true);
       args->length.add_to(app);
       app.add_option("--field", args->field, "JSONL field holding the text")->capture_default_str();
       CLI::Option* query =
           app.add_option("--query", args->query, "Centre the summary on this text (default: the mean sentence vector)");
       app.add_option("-n,--sentences", args->sentences, "Sentences to pick")
           ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
           ->capture_default_str();
       app.add_option("--k", args->k, "Neighbours per node in the kNN graph")
           ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
           ->capture_default_str();
       app.add_option("--distance", args->distance, "geodesic (shortest path in the kNN graph) or cosine")
           ->check(CLI::IsMember({"cosine", "geodesic"}))
           ->capture_default_str();
       app.add_option("--pooling", args->pooling, "Sentence vector: mean, cls or pooler")
           ->check(CLI::IsMember({"mean", "cls", "pooler"}))
           ->capture_default_str();
       app.add_flag("--no-split", args->no_split,
                    "Take every input text as one sentence (default: split texts after 。！？!?… and '. ')");
       app.add_option("--format", args->format,
                      "json: one object with the summary; jsonl: one line per picked sentence")
           ->check(CLI::IsMember({"json", "jsonl"}))
           ->capture_default_str();
       return [args, query] { return run(*args, query->count() > 0); };
     }});

}  // namespace
}  // namespace nspbert::cli
