#pragma once
// Streams that lose nothing: a chunked JSONL reader that yields every non-blank line (parsed, or
// with the reason it could not be), an output file written beside its final name and renamed
// when complete (so a crash never leaves a file that looks finished), resumable by line count,
// and (progress.h) a progress line for terminals.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/progress.h"

namespace nspbert::io {

// A problem with one input line: reported as {"line": N, "error": ...}; the run goes on.
class LineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JsonlItem {
  int64_t line = 0;      // 1-based physical line number in the input
  nlohmann::json value;  // a JSON object when `error` is empty
  std::string error;
  std::string text;  // the line as read, instead of `value`, for a reader set to unparsed lines
};

// `--shard I/N`: the non-blank lines whose 0-based index is I modulo N.
struct Shard {
  uint64_t index = 0;
  uint64_t count = 1;
  bool takes(uint64_t non_blank_index) const { return non_blank_index % count == index; }
};
// "I/N" with 0 <= I < N; nullopt when it is not that.
std::optional<Shard> parse_shard(std::string_view text);

bool is_blank(std::string_view line);
// At most about max_bytes of text (cut at a UTF-8 character boundary), with the full size when cut:
// error messages quote input, and an input line can be megabytes long.
std::string excerpt(std::string_view text, size_t max_bytes = 200);
// A line that cannot be the start of any JSON value (for the "looks like plain text" hint).
bool looks_like_plain_text(std::string_view line);

class JsonlReader {
 public:
  // `path` empty or "-": standard input. Fails (input error) when the file cannot be opened.
  explicit JsonlReader(const std::string& path);
  // Reads from a caller's stream (tests, in-memory inputs).
  JsonlReader(std::istream& in, std::string name);
  // TEXT arguments, each read as the line {field: text} (named "the arguments").
  JsonlReader(const std::vector<std::string>& texts, const std::string& field);
  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;

  // Hand each line's text unparsed in JsonlItem::text (tokenize parses lines itself).
  void keep_lines_unparsed() { parse_ = false; }
  // Only this shard's lines from now on; line numbers stay those of the whole input.
  void set_shard(Shard shard) { shard_ = shard; }
  // Numbers the next line `line` (a block cut from a larger file keeps that file's line numbers).
  void number_next_line(int64_t line) { line_number_ = line - 1; }

  // Appends up to `max_items` non-blank lines to `out` (cleared first); false once nothing is left.
  bool read_chunk(size_t max_items, std::vector<JsonlItem>& out);
  // Skips `count` non-blank lines (of the shard) without parsing them; returns how many were actually there.
  size_t skip(size_t count);

  const std::string& name() const { return name_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t total_bytes() const { return total_bytes_; }  // 0 when unknown (a pipe)

 private:
  bool next_line(std::string& line);
  bool next_taken_line(std::string& line);  // the next non-blank line of the shard

  std::ifstream file_;
  std::istringstream texts_;
  std::istream* in_ = nullptr;
  std::string name_;
  bool parse_ = true;
  Shard shard_;
  uint64_t non_blank_seen_ = 0;
  int64_t line_number_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t total_bytes_ = 0;
};

// Parses one line into an item: errors name what is wrong ("not valid JSON: ...", "expected a JSON object").
JsonlItem parse_jsonl_line(int64_t line_number, std::string_view text);

// Output lines. With a path, they go to PATH.partial, flushed after every chunk and renamed to
// PATH by commit(); a run that dies keeps the partial file. With resume, complete lines already in
// PATH.partial (or PATH) are kept, a torn last line is cut off, and writing appends.
class OutputFile {
 public:
  OutputFile(const std::string& path, bool resume);  // path empty: standard output
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& path() const { return path_; }  // empty: standard output
  size_t resumed_lines() const { return resumed_lines_; }
  size_t resumed_errors() const { return resumed_errors_; }  // kept lines that were {"error": ...}
  void write_line(std::string_view line);
  void flush();
  void commit();   // flush, close and rename the partial file to its final name
  void discard();  // close and remove the partial file: nothing of this run is kept

  static std::string partial_path(const std::string& path) { return path + ".partial"; }

 private:
  void resume_from(const std::string& partial);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  size_t resumed_lines_ = 0;
  size_t resumed_errors_ = 0;
  bool committed_ = false;
};

}  // namespace nspbert::io
