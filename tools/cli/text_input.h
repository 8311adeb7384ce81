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
