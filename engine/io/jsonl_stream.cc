#include "engine/io/jsonl_stream.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "engine/error.h"
#include "engine/io/byte_order_mark.h"
#include "engine/json_depth.h"

namespace nspbert::io {

namespace fs = std::filesystem;

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

std::string excerpt(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

bool looks_like_plain_text(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t\r\f\v");
  if (first == std::string_view::npos) return false;
  const char c = line[first];
  return c != '{' && c != '[' && c != '"' && c != '-' && (c < '0' || c > '9') &&
         !line.substr(first).starts_with("true") && !line.substr(first).starts_with("false") &&
         !line.substr(first).starts_with("null");
}

JsonlItem parse_jsonl_line(int64_t line_number, std::string_view text) {
  JsonlItem item;
  item.line = line_number;
  if (json_nests_deeper_than(text)) {
    item.error = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return item;
  }
  try {
    item.value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers beyond double ("1e400").
    // nlohmann prefixes "[json.exception.parse_error.101] ": noise for users.
    std::string message = e.what();
    if (const auto close = message.find("] "); message.starts_with("[json.exception.") && close != std::string::npos)
      message.erase(0, close + 2);
    // The message quotes what it read: a huge line would be echoed whole.
    item.error = "not valid JSON: " + excerpt(message);
    if (looks_like_plain_text(text))
      item.error += " (this looks like plain text: give one JSON object per line, e.g. {\"text\": \"...\"})";
    return item;
  }
  if (!item.value.is_object()) {
    item.error = "expected a JSON object, got " + std::string(item.value.type_name());
    item.value = nullptr;
  }
  return item;
}

JsonlReader::JsonlReader(const std::string& path) {
  if (path.empty() || path == "-") {
    in_ = &std::cin;
    name_ = "standard input";
    return;
  }
  name_ = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail_input(path + ": is a directory, not a JSONL file");
  file_.open(path, std::ios::binary);
  if (!file_) fail_input(path + ": cannot open (" + std::strerror(errno) + ")");
  in_ = &file_;
  if (fs::is_regular_file(path, ec)) total_bytes_ = fs::file_size(path, ec);
}

JsonlReader::JsonlReader(std::istream& in, std::string name) : in_(&in), name_(std::move(name)) {}

JsonlReader::JsonlReader(const std::vector<std::string>& texts, const std::string& field) : name_("the arguments") {
  std::string jsonl;
  for (const std::string& text : texts)
    jsonl += nlohmann::json{{field, text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  texts_.str(std::move(jsonl));
  in_ = &texts_;
}

std::optional<Shard> parse_shard(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  Shard s;
  const auto digits = [](std::string_view part, uint64_t& value) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return !part.empty() && ec == std::errc() && end == part.data() + part.size();
  };
  if (!digits(text.substr(0, slash), s.index) || !digits(text.substr(slash + 1), s.count)) return std::nullopt;
  if (s.count == 0 || s.index >= s.count) return std::nullopt;
  return s;
}

bool JsonlReader::next_line(std::string& line) {
  if (!std::getline(*in_, line)) {
    // std::cin shares stdio's buffer: a read error (standard input is a directory, EIO) shows only
    // in ferror, and would otherwise pass for the end of the input.
    if (in_->bad() || (in_ == &std::cin && std::ferror(stdin)))
      fail_input("error while reading " + name_ + ": " + std::strerror(errno));
    return false;
  }
  ++line_number_;
  bytes_read_ += line.size() + 1;
  if (line_number_ == 1) strip_byte_order_mark(line);
  return true;
}

bool JsonlReader::next_taken_line(std::string& line) {
  while (next_line(line))
    if (!is_blank(line) && shard_.takes(non_blank_seen_++)) return true;
  return false;
}

bool JsonlReader::read_chunk(size_t max_items, std::vector<JsonlItem>& out) {
  out.clear();
  std::string line;
  while (out.size() < max_items && next_taken_line(line)) {
    if (parse_) {
      out.push_back(parse_jsonl_line(line_number_, line));
    } else {
      out.push_back({line_number_, nullptr, {}, std::move(line)});
      line = {};
    }
  }
  return !out.empty();
}

size_t JsonlReader::skip(size_t count) {
  size_t skipped = 0;
  std::string line;
  while (skipped < count && next_taken_line(line)) ++skipped;
  return skipped;
}

OutputFile::OutputFile(const std::string& path, bool resume) : path_(path) {
  if (path.empty()) {
    if (resume) fail_usage("--resume needs --output FILE");
    file_ = stdout;
    return;
  }
  const std::string partial = partial_path(path);
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail_input(path + ": is a directory");
  if (resume) {
    // A finished output is continued too: it becomes the partial file again until this run commits.
    if (!fs::exists(partial, ec) && fs::exists(path, ec)) {
      fs::rename(path, partial, ec);
      if (ec) fail_input("cannot reopen " + path + " to resume it: " + ec.message());
    }
    if (fs::exists(partial, ec)) resume_from(partial);
  }
  file_ = std::fopen(partial.c_str(), resume ? "ab" : "wb");
  if (!file_) fail_input("cannot write " + partial + ": " + std::strerror(errno));
}

void OutputFile::resume_from(const std::string& partial) {
  std::ifstream in(partial, std::ios::binary);
  if (!in) fail_input("cannot read " + partial + " to resume it: " + std::strerror(errno));
  std::string line;
  uint64_t complete_bytes = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline after it: torn by the interruption, rewritten below
    complete_bytes += line.size() + 1;
    ++resumed_lines_;
    const nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    if (value.is_object() && value.contains("error")) ++resumed_errors_;
  }
  in.close();
  std::error_code ec;
  if (fs::file_size(partial, ec) != complete_bytes) {
    fs::resize_file(partial, complete_bytes, ec);
    if (ec) fail_input("cannot cut the incomplete last line of " + partial + ": " + ec.message());
  }
}

OutputFile::~OutputFile() {
  if (file_ && file_ != stdout) {
    // Not committed: keep what was written (complete lines) for --resume.
    if (!buffer_.empty()) std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    std::fclose(file_);
  }
}

void OutputFile::write_line(std::string_view line) {
  buffer_.append(line);
  buffer_.push_back('\n');
  if (buffer_.size() >= (1u << 20)) flush();
}

void OutputFile::flush() {
  std::optional<ProgressPause> pause;  // no progress text between our lines on a terminal
  if (file_ == stdout && !buffer_.empty() && ::isatty(STDOUT_FILENO) == 1) pause.emplace();
  const std::string name = path_.empty() ? "standard output" : partial_path(path_);
  if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
    fail_input("cannot write " + name + ": " + std::strerror(errno));
  buffer_.clear();
  if (std::fflush(file_) != 0) fail_input("cannot write " + name + ": " + std::strerror(errno));
}

void OutputFile::commit() {
  flush();
  if (path_.empty() || committed_) return;
  const std::string partial = partial_path(path_);
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!closed) fail_input("cannot write " + partial + ": " + std::strerror(errno));
  std::error_code ec;
  fs::rename(partial, path_, ec);
  if (ec) fail_input("cannot rename " + partial + " to " + path_ + ": " + ec.message());
  committed_ = true;
}

void OutputFile::discard() {
  buffer_.clear();
  if (path_.empty() || committed_) return;
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  fs::remove(partial_path(path_), ec);
}

}  // namespace nspbert::io
