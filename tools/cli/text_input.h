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
#include "models/sequence_builder.h"
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

// One chunk of embed or pair-score: `read` turns each usable line into its sequence (and starts
// its result), or returns nullopt with `error` set; the other lines become {"line", "error"}.
struct EncodedChunk {
  std::vector<nlohmann::json> results;  // one per line, in order
  std::vector<Sequence> sequences;      // one per usable line
  std::vector<size_t> slot;             // the result index of each sequence
};
using ReadSequence =
    std::function<std::optional<Sequence>(const nlohmann::json& line, nlohmann::json& result, std::string& error)>;
EncodedChunk encode_chunk(const std::vector<io::JsonlItem>& items, const ReadSequence& read);

}  // namespace nspbert::cli
