#pragma once
// Shared by the commands that encode texts (embed, rank, summarize, pair-score): reading a text
// field, how long a sequence may be, and a chunk of lines turned into sequences.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/batch_runner.h"
#include "engine/io/jsonl_stream.h"
#include "models/model.h"
#include "engine/io/jsonl_stream.h"
#include "tokenizer/tokenizer.h"
#include "tools/cli/model_options.h"
#include "tools/cli/stream_command.h"

namespace nspbert::cli {

// The string field `name`, or an error message naming it.
std::optional<std::string> string_field(const nlohmann::json& object, const std::string& name, std::string& error);

// How long an encoded sequence may be. Absolute-position models cannot go past their position
// table: --overlength truncate (default) cuts there and says so once on stderr, error refuses
// those lines. RoPE models take any length unless --max-length is given.
struct LengthOptions {
  size_t max_length = 0;
  std::string overlength = "truncate";
  CLI::Option* max_length_option = nullptr;

  void add_to(CLI::App& app);
};

class SequenceBuilder {
 public:
  SequenceBuilder(const LengthOptions& options, const Model& model, const AttentionOptions& attention, bool pairs);

  // [CLS] text [SEP], or nullopt with `error` set when the text is refused.
  std::optional<Sequence> single(const std::string& text, std::string& error);
  // [CLS] a [SEP] b [SEP] with segment ids 0 / 1.
  std::optional<Sequence> pair(const std::string& a, const std::string& b, Truncation rule, std::string& error);

  // One stderr line per thing the user should know (texts cut at the position table, texts past
  // a RoPE model's training length with no length remedy switched on).
  void print_notes() const;

 private:
  std::optional<Sequence> build(std::vector<Token> a, std::optional<std::vector<Token>> b, Truncation rule,
                                std::string& error);

  const Tokenizer& tokenizer_;
  size_t user_limit_;   // --max-length, or unlimited
  size_t table_ = 0;    // absolute position table size, 0 for rotary models
  size_t training_ = 0; // rotary models: the training length (max_position_embeddings)
  bool refuse_overlength_ = false;
  bool remedied_ = false;  // window / log-n / HWFA on
  size_t cut_at_table_ = 0, past_training_ = 0, sequences_ = 0;
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
                      const StreamWords& words, const ReadSequence& read, const std::function<void(EncodedChunk&)>& run);

}  // namespace nspbert::cli
