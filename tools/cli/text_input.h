#pragma once
// Shared by the commands that encode texts (embed, rank, summarize, pair-score): where the texts
// come from, how long a sequence may be, and how results are printed.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/batch_runner.h"
#include "models/model.h"
#include "models/sequence_builder.h"
#include "models/zero_shot/jsonl_stream.h"
#include "tokenizer/tokenizer.h"

namespace nspbert::cli {

// TEXT arguments, or JSONL objects from --input FILE or standard input.
struct TextSource {
  std::vector<std::string> texts;
  std::string input;

  void add_to(CLI::App& app, bool positional_texts);
};

// One non-blank input line (or TEXT argument): its JSON object, or why it is unusable.
struct InputRecord {
  size_t line = 0;  // 1-based line number, or the argument's position
  nlohmann::json object;
  std::string error;
};

// Records in input order, a chunk at a time, so a large JSONL input streams through a command.
// TEXT arguments become {"text": ...} records. Fails (exit 3) only if the input cannot be read.
class RecordStream {
 public:
  explicit RecordStream(const TextSource& source);
  // Replaces `out` with up to `max_records` records; false once nothing is left.
  bool next_chunk(size_t max_records, std::vector<InputRecord>& out);

 private:
  std::vector<std::string> texts_;
  size_t next_text_ = 0;
  std::optional<zero_shot::JsonlReader> reader_;
  std::vector<zero_shot::JsonlItem> items_;
};

// Every record at once (for commands that need the whole set: rank, summarize).
std::vector<InputRecord> read_records(const TextSource& source);
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

// --format json prints one array, jsonl one object per line; written as results arrive.
class ResultWriter {
 public:
  explicit ResultWriter(std::string format) : json_array_(format == "json") {}
  void add(const nlohmann::json& result);
  void flush();   // after each chunk, so a consumer sees progress
  void finish();  // closes the JSON array (an empty one if nothing was added)

 private:
  bool json_array_;
  bool any_ = false;
  std::string buffer_;
};

void write_results(const std::vector<nlohmann::json>& results, const std::string& format);

}  // namespace nspbert::cli
