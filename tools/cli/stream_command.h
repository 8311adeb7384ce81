#pragma once
// What every command that streams JSONL lines to output lines shares (score, classify --input,
// tokenize, embed, pair-score): the input and output flags, and one run that writes an output line
// per non-blank input line, in order, to --output (via FILE.partial, resumable) or standard output,
// with progress on a terminal and a clean stop on SIGINT/SIGTERM (exit 5); with --shard I/N only
// every N-th line, each output line numbered for nspbert merge. The I/O is engine/io.
// rank and summarize read their whole input and print at the end with the same output stack.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/jsonl_stream.h"

namespace nspbert::cli {

enum class Format { Jsonl, Json, Table };

// --format with the given choices (names: jsonl, json, table).
CLI::Option* add_format_option(CLI::App& app, Format& format, const std::vector<Format>& choices,
                               const std::string& help);
CLI::Option* add_chunk_size_option(CLI::App& app, size_t& chunk_size);

// Usage error when `output` names the file `input` is (the finished output would replace it).
void refuse_output_over_input(const std::string& output, const std::string& input);

// TEXT arguments, or JSONL from --input FILE or standard input.
struct InputOptions {
  std::vector<std::string> texts;
  std::string input;

  void add_to(CLI::App& app, bool positional_texts);
  // TEXT arguments become {field: text} lines. Fails (usage) when both are given.
  std::unique_ptr<io::JsonlReader> open(const std::string& field) const;
};

struct StreamOptions {
  InputOptions source;
  std::string output;  // empty: standard output
  bool resume = false;
  size_t chunk_size;
  Format format = Format::Jsonl;
  std::optional<io::Shard> shard;  // --shard I/N
  bool with_line_numbers = false;

  bool numbered() const { return with_line_numbers || shard.has_value(); }
  explicit StreamOptions(size_t default_chunk_size) : chunk_size(default_chunk_size) {}
  void add_to(CLI::App& app, bool positional_texts);
  // Checks the flag combinations and opens the input: call before loading the model.
  std::unique_ptr<io::JsonlReader> open(const std::string& field) const;
};

// Output lines in input order: frames them as --format asks, counts them and the failed ones.
class LineSink {
 public:
  // `numbered`: every line starts with its input line (engine/io/shard_merge.h).
  LineSink(io::OutputFile& out, Format format, bool numbered = false)
      : out_(out), format_(format), numbered_(numbered) {}
  void begin(const std::string& table_header = "");  // "[" for json, the header for table
  void add(int64_t input_line, const std::string& line, bool failed);
  void add(int64_t input_line, const nlohmann::json& result);  // failed when it has "error"
  void end_chunk() { out_.flush(); }
  void finish();  // "]" for json

  int64_t lines() const { return lines_; }
  int64_t failed() const { return failed_; }

 private:
  io::OutputFile& out_;
  Format format_;
  bool numbered_;
  int64_t lines_ = 0, failed_ = 0;
};

// What a command does with the stream: reads `reader` and hands every output line to `sink`.
using StreamBody = std::function<void(io::JsonlReader& reader, LineSink& sink, io::Progress& progress)>;
// The usual body: `chunk` turns each chunk of `chunk_size` lines into output lines.
StreamBody each_chunk(size_t chunk_size, std::function<void(std::vector<io::JsonlItem>&, LineSink&)> chunk);

struct StreamWords {
  std::string done;          // "N of M lines could not be <done>"
  std::string table_header;  // --format table
  std::string stop_hint;     // instead of the usual advice after an interruption

  explicit StreamWords(std::string done_word = "scored") : done(std::move(done_word)) {}
};

// Opens the output (resuming it), runs `body`, commits the output. Returns the exit code: 0, 1 when
// a line failed (one stderr line says how many), 5 when interrupted (docs/bad-input.md).
int run_stream(const StreamOptions& options, io::JsonlReader& reader, const StreamWords& words, const StreamBody& body);

// Every non-blank line of `reader` (rank, summarize).
std::vector<io::JsonlItem> read_all(io::JsonlReader& reader);
// Results printed at once to standard output.
void write_results(const std::vector<nlohmann::json>& results, Format format);

}  // namespace nspbert::cli
