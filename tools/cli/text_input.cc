#include "tools/cli/text_input.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <iostream>
#include <limits>

#include "engine/error.h"
#include "tools/cli/json_io.h"

namespace nspbert::cli {

void TextSource::add_to(CLI::App& app, bool positional_texts) {
  app.add_option("--input", input, "JSONL input, one object per line (default: standard input)");
  if (positional_texts) app.add_option("texts", texts, "Texts to use instead of JSONL input");
}

RecordStream::RecordStream(const TextSource& source) : texts_(source.texts) {
  if (!texts_.empty() && !source.input.empty()) fail_usage("give texts as arguments or with --input, not both");
  if (texts_.empty()) reader_.emplace(source.input);
}

bool RecordStream::next_chunk(size_t max_records, std::vector<InputRecord>& out) {
  out.clear();
  if (!reader_) {
    for (; next_text_ < texts_.size() && out.size() < max_records; ++next_text_)
      out.push_back({next_text_ + 1, {{"text", texts_[next_text_]}}, {}});
    return !out.empty();
  }
  if (!reader_->read_chunk(max_records, items_)) return false;
  for (auto& item : items_)
    out.push_back({static_cast<size_t>(item.line), std::move(item.value), std::move(item.error)});
  return true;
}

std::vector<InputRecord> read_records(const TextSource& source) {
  RecordStream stream(source);
  std::vector<InputRecord> all, chunk;
  while (stream.next_chunk(4096, chunk)) std::move(chunk.begin(), chunk.end(), std::back_inserter(all));
  return all;
}

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

LengthLimit LengthOptions::limit() const {
  LengthLimit limit;
  if (max_length_option && max_length_option->count() > 0) limit.max_length = max_length;
  limit.refuse_overlength = overlength == "error";
  return limit;
}

void ResultWriter::add(const nlohmann::json& result) {
  buffer_ += json_array_ ? (any_ ? ",\n" : "[\n") : "";
  buffer_ += dump(result);
  if (!json_array_) buffer_ += '\n';
  any_ = true;
  if (buffer_.size() >= (1u << 16)) flush();
}

void ResultWriter::flush() {
  if ((!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size()) ||
      std::fflush(stdout) != 0)
    fail_input(std::string("cannot write standard output: ") + std::strerror(errno));
  buffer_.clear();
}

void ResultWriter::finish() {
  if (json_array_) buffer_ += any_ ? "\n]\n" : "[]\n";
  flush();
}

void write_results(const std::vector<nlohmann::json>& results, const std::string& format) {
  ResultWriter writer(format);
  for (const auto& r : results) writer.add(r);
  writer.finish();
}

}  // namespace nspbert::cli
