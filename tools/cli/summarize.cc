// nspbert summarize: extractive, opinion-focused summary — the sentences nearest a centre (the
// query, or the mean sentence vector) by geodesic distance, in document order (docs/methods.md §7).
#include "engine/similarity/summarize.h"

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

struct SummarizeArgs {
  EncodeOptions encode;
  InputOptions source;
  std::string query;
  int64_t sentences = 3;
  DistanceOptions distance{"geodesic"};
  bool no_split = false;
  Format format = Format::Json;
  CLI::Option* query_option = nullptr;  // given: centre on the query, else on the mean vector
};

struct Sentence {
  int64_t line;
  std::string text;
};

// Chinese sentences follow each other directly; Latin ones ("happy." + "The dog") need the space
// the splitter took away.
void join_sentence(std::string& joined, const std::string& sentence) {
  const auto ascii = [](char c) { return static_cast<unsigned char>(c) < 0x80; };
  if (!joined.empty() && !sentence.empty() && ascii(joined.back()) && ascii(sentence.front()) && joined.back() != ' ')
    joined += ' ';
  joined += sentence;
}

int run(const SummarizeArgs& args) {
  const bool with_query = args.query_option->count() > 0;
  const std::vector<io::JsonlItem> records = read_all(*args.source.open(args.encode.field));
  Model model = args.encode.model.load();
  io::Progress progress("summarized");
  const AttentionOptions attention = args.encode.model.attention(model.spec);
  SequenceBuilder builder(args.encode.length.limit(), model, attention, /*pairs=*/false);

  std::vector<Sentence> sentences;
  std::vector<Sequence> sequences;
  std::vector<nlohmann::json> failed;
  for (const io::JsonlItem& record : records) {
    std::string error = record.error;
    std::optional<std::string> text;
    if (error.empty()) text = string_field(record.value, args.encode.field, error);
    if (!text) {
      failed.push_back(bad_line(record, error));
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
      failed.push_back(bad_line(record, error));
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
    VectorSet vectors = sentence_vectors(*model.encoder, sequences, *parse_pooling(args.encode.pooling), attention);
    std::vector<float> centre;
    if (with_query) {
      centre.assign(vectors.row(vectors.count() - 1), vectors.row(vectors.count() - 1) + vectors.dim);
      vectors.values.resize(vectors.values.size() - vectors.dim);
    } else {
      centre = mean_vector(vectors);
    }
    const std::vector<double> distances = args.distance.geodesic()
                                              ? geodesic_distances(vectors, centre.data(), args.distance.k)
                                              : cosine_distances(vectors, centre.data());
    picks = pick_nearest(distances, args.sentences);
  }

  progress.update(static_cast<int64_t>(records.size()));
  progress.finish();
  std::vector<nlohmann::json> summary;
  for (const SummaryPick& p : picks)
    summary.push_back({{"index", p.index},
                       {"line", sentences[p.index].line},
                       {"text", sentences[p.index].text},
                       {"distance", p.distance},
                       {"score", proximity_score(p.distance)}});
  if (args.format == Format::Jsonl) {
    summary.insert(summary.end(), failed.begin(), failed.end());
    write_results(summary, Format::Jsonl);
  } else {
    std::string joined;
    for (const SummaryPick& p : picks) join_sentence(joined, sentences[p.index].text);
    nlohmann::json result = {{"centre", with_query ? "query" : "mean"},
                             {"distance", args.distance.distance},
                             {"sentences", sentences.size()},
                             {"summary", summary},
                             {"text", joined}};
    if (with_query) result["query"] = args.query;
    if (!failed.empty()) result["errors"] = failed;
    write_results({result}, Format::Jsonl);
  }
  return failed.empty() ? 0 : 1;
}

void declare(CLI::App& app, SummarizeArgs& args) {
  args.encode.add_to(app, /*with_text_field=*/true);
  args.source.add_to(app, /*positional_texts=*/true);
  args.query_option =
      app.add_option("--query", args.query, "Centre the summary on this text (default: the mean sentence vector)");
  app.add_option("-n,--sentences", args.sentences, "Sentences to pick")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  args.distance.add_to(app);
  app.add_flag("--no-split", args.no_split,
               "Take every input text as one sentence (default: split texts after 。！？!?… and '. ')");
  add_format_option(app, args.format, {Format::Json, Format::Jsonl},
                    "json: one object with the summary; jsonl: one line per picked sentence");
}

const bool registered = register_command<SummarizeArgs>(
    "summarize",
    "Extractive summary: the N sentences nearest the query or the mean sentence vector by geodesic distance, "
    "in document order",
    declare, run);

}  // namespace
}  // namespace nspbert::cli
