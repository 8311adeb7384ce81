#pragma once
// Shared by the commands that encode texts (embed, rank, summarize, pair-score): reading a text
// field, how long a sequence may be, and a chunk of lines turned into sequences.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/io/jsonl_stream.h"
#include "models/model.h"
#include "models/sequence_builder.h"
#include "tokenizer/tokenizer.h"
#include "tools/cli/model_options.h"
#include "tools/cli/stream_command.h"

namespace nspbert::cli {

// The string field `name`, or an error message naming it.
std::optional<std::string> string_field(const nlohmann::json& object, const std::string& name, std::string& error);

// {"line": N, "error": ..., "id": ... when the line has one} (LineSink prints it in that order).
nlohmann::json bad_line(const io::JsonlItem& item, const std::string& error);

// How long an encoded sequence may be. Absolute-position models cannot go past their position
// table: --overlength truncate (default) cuts there and says so once on stderr, error refuses
// those lines. RoPE models take any length unless --max-length is given.
struct LengthOptions {
  size_t max_length = 0;
  std::string overlength = "truncate";
  CLI::Option* max_length_option = nullptr;

  void add_to(CLI::App& app);
  LengthLimit limit() const;
};

// The flags the text-encoding commands declare alike: the model, sequence lengths and (embed,
// rank, summarize) the text field and the pooling.
struct EncodeOptions {
  ModelOptions model;
  LengthOptions length;
  std::string field = "text";
  std::string pooling = "mean";

  void add_to(CLI::App& app, bool with_text_field);
};

// rank and summarize: cosine or geodesic distance to the centre, and the k of the kNN graph.
struct DistanceOptions {
  std::string distance;
  int64_t k = 10;

  explicit DistanceOptions(std::string default_distance) : distance(std::move(default_distance)) {}
  void add_to(CLI::App& app);
  bool geodesic() const { return distance == "geodesic"; }
};

// One chunk of embed or pair-score: `read` turns each usable line into its sequence (and starts
// its result), or returns nullopt with `error` set; the other lines become {"line", "error"}.
struct EncodedChunk {
  std::vector<nlohmann::json> results;  // one per line, in order
  std::vector<Sequence> sequences;      // one per usable line
  std::vector<size_t> slot;             // the result index of each sequence
};
using ReadSequence =
    std::function<std::optional<Sequence>(const nlohmann::json& line, nlohmann::json& result, std::string& error)>;

// embed and pair-score: the encoding flags, the stream flags and --format json|jsonl.
struct EncodeStreamOptions {
  EncodeOptions encode;
  // Lines per encoder round: big enough for good batches, small enough to stream.
  StreamOptions stream{2048};

  void add_to(CLI::App& app, bool with_text_field);
};

// Streams the input: each chunk's usable lines become sequences (`read`), `run` adds the encoder's
// results; then the builder's notes, unless interrupted. Returns the exit code (run_stream).
int run_encode_stream(const EncodeStreamOptions& options, io::JsonlReader& reader, SequenceBuilder& builder,
                      const StreamWords& words, const ReadSequence& read,
                      const std::function<void(EncodedChunk&)>& run);

}  // namespace nspbert::cli
