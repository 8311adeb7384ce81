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
