#include "tools/cli/text_input.h"

#include <cstdio>
#include <limits>

#include "engine/error.h"
#include "tools/cli/interrupt.h"

namespace nspbert::cli {

std::optional<std::string> string_field(const nlohmann::json& object, const std::string& name, std::string& error) {
  const auto it = object.find(name);
  if (it == object.end()) {
    error = "missing field \"" + name + "\"";
    return std::nullopt;
  }
  if (!it->is_string()) {
    error = "field \"" + name + "\" is not a string";
    return std::nullopt;
  }
  return it->get<std::string>();
}

void LengthOptions::add_to(CLI::App& app) {
  max_length_option =
      app.add_option("--max-length", max_length,
                     "Cut sequences to this many tokens, special tokens included (default: the position table "
                     "of absolute-position models, no limit for RoPE models)")
          ->check(CLI::Range(size_t{1}, size_t{1} << 30))
          ->default_str("the position table; none for RoPE");
  app.add_option("--overlength", overlength,
                 "Texts longer than an absolute-position model's table: truncate (with a note on stderr) or error")
      ->check(CLI::IsMember({"truncate", "error"}))
      ->capture_default_str();
}

LengthLimit LengthOptions::limit() const {
  LengthLimit limit;
  if (max_length_option && max_length_option->count() > 0) limit.max_length = max_length;
  limit.refuse_overlength = overlength == "error";
  return limit;
}

void EncodeOptions::add_to(CLI::App& app, bool with_text_field) {
  model.add_to(app);
  length.add_to(app);
  if (!with_text_field) return;
  app.add_option("--field", field, "JSONL field holding the text")->capture_default_str();
  app.add_option("--pooling", pooling,
                 "mean: average of the last hidden states over the text's tokens; cls: the last hidden state at "
                 "[CLS]; pooler: the tanh pooler output")
      ->check(CLI::IsMember({"mean", "cls", "pooler"}))
      ->capture_default_str();
}

void DistanceOptions::add_to(CLI::App& app) {
  app.add_option("--distance", distance,
                 "cosine: 1 - cos of the sentence vectors; geodesic: shortest path from the centre (the query) in "
                 "the k-nearest-neighbour graph over it and the texts")
      ->check(CLI::IsMember({"cosine", "geodesic"}))
      ->capture_default_str();
  app.add_option("--k", k, "Neighbours per node in the geodesic kNN graph")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
}

nlohmann::json bad_line(const io::JsonlItem& item, const std::string& error) {
  nlohmann::json bad = {{"line", item.line}, {"error", error}};
  if (item.value.is_object() && item.value.contains("id")) bad["id"] = item.value["id"];
  return bad;
}

namespace {

EncodedChunk encode_chunk(const std::vector<io::JsonlItem>& items, const ReadSequence& read) {
  EncodedChunk chunk;
  chunk.results.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string error = items[i].error;
    std::optional<Sequence> s;
    if (error.empty()) s = read(items[i].value, chunk.results[i], error);
    if (!s) {
      chunk.results[i] = bad_line(items[i], error);
      continue;
    }
    chunk.sequences.push_back(std::move(*s));
    chunk.slot.push_back(i);
  }
  return chunk;
}

}  // namespace

void EncodeStreamOptions::add_to(CLI::App& app, bool with_text_field) {
  encode.add_to(app, with_text_field);
  stream.add_to(app, /*positional_texts=*/with_text_field);  // pairs come from JSONL only
  add_format_option(app, stream.format, {Format::Json, Format::Jsonl},
                    "json (one array) or jsonl (one object per line)");
}

int run_encode_stream(const EncodeStreamOptions& options, io::JsonlReader& reader, SequenceBuilder& builder,
                      const StreamWords& words, const ReadSequence& read,
                      const std::function<void(EncodedChunk&)>& run) {
  auto chunk = [&](std::vector<io::JsonlItem>& items, LineSink& sink) {
    EncodedChunk encoded = encode_chunk(items, read);
    run(encoded);
    for (size_t i = 0; i < items.size(); ++i) sink.add(items[i].line, encoded.results[i]);
  };
  const int code = run_stream(options.stream, reader, words, each_chunk(options.stream.chunk_size, chunk));
  if (code != kInterruptedExitCode) builder.print_notes();
  return code;
}

}  // namespace nspbert::cli
