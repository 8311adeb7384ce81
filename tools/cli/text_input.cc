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
          ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  app.add_option("--overlength", overlength,
                 "Texts longer than an absolute-position model's table: truncate (with a note on stderr) or error")
      ->check(CLI::IsMember({"truncate", "error"}))
      ->capture_default_str();
}

SequenceBuilder::SequenceBuilder(const LengthOptions& options, const Model& model, const AttentionOptions& attention,
                                 bool pairs)
    : tokenizer_(*model.tokenizer) {
  const bool given = options.max_length_option && options.max_length_option->count() > 0;
  user_limit_ = given ? options.max_length : std::numeric_limits<size_t>::max();
  const size_t specials = pairs ? 3 : 2;
  if (user_limit_ < specials)
    fail_usage("--max-length " + std::to_string(user_limit_) + " cannot hold the " + std::to_string(specials) +
               " special tokens every sequence needs");
  const size_t positions = static_cast<size_t>(model.spec.max_positions);
  if (model.spec.position_kind == PositionKind::Absolute) {
    table_ = positions;
  } else {
    training_ = positions;
  }
  refuse_overlength_ = options.overlength == "error";
  remedied_ = attention.window > 0 || attention.logn_base > 1 || attention.hwfa;
}

std::optional<Sequence> SequenceBuilder::build(std::vector<Token> a, std::optional<std::vector<Token>> b,
                                               Truncation rule, std::string& error) {
  const size_t full = a.size() + (b ? b->size() + 3 : 2);
  size_t limit = user_limit_;
  if (table_ > 0 && std::min(full, limit) > table_) {
    if (refuse_overlength_) {
      error = "the text is " + std::to_string(std::min(full, limit)) + " tokens, past this model's position table (" +
              std::to_string(table_) + "); shorten it, set --max-length, or use --overlength truncate";
      return std::nullopt;
    }
    limit = table_;
    ++cut_at_table_;
  }
  Encoding e = encode_tokens(tokenizer_, std::move(a), std::move(b), limit, rule);
  if (training_ > 0 && e.ids.size() > training_) ++past_training_;
  ++sequences_;
  Sequence s;
  s.ids = std::move(e.ids);
  s.type_ids = std::move(e.type_ids);
  return s;
}

std::optional<Sequence> SequenceBuilder::single(const std::string& text, std::string& error) {
  return build(tokenizer_.tokenize(text), std::nullopt, Truncation::NspReference, error);
}

std::optional<Sequence> SequenceBuilder::pair(const std::string& a, const std::string& b, Truncation rule,
                                              std::string& error) {
  return build(tokenizer_.tokenize(a), tokenizer_.tokenize(b), rule, error);
}

void SequenceBuilder::print_notes() const {
  if (cut_at_table_ > 0)
    std::fprintf(stderr,
                 "nspbert: note: %zu of %zu sequences were cut to %zu tokens, the position table of this model "
                 "(--overlength error refuses them instead)\n",
                 cut_at_table_, sequences_, table_);
  if (past_training_ > 0 && !remedied_)
    std::fprintf(stderr,
                 "nspbert: note: %zu of %zu sequences are longer than the training length (%zu tokens); "
                 "--hwfa, --attention-window or --logn-scale help RoPE models past it\n",
                 past_training_, sequences_, training_);
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

namespace {

EncodedChunk encode_chunk(const std::vector<io::JsonlItem>& items, const ReadSequence& read) {
  EncodedChunk chunk;
  chunk.results.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string error = items[i].error;
    std::optional<Sequence> s;
    if (error.empty()) s = read(items[i].value, chunk.results[i], error);
    if (!s) {
      chunk.results[i] = {{"line", items[i].line}, {"error", error}};
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
  add_format_option(app, stream.format, {Format::Json, Format::Jsonl}, "json (one array) or jsonl (one object per line)");
}

int run_encode_stream(const EncodeStreamOptions& options, io::JsonlReader& reader, SequenceBuilder& builder,
                      const StreamWords& words, const ReadSequence& read, const std::function<void(EncodedChunk&)>& run) {
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
