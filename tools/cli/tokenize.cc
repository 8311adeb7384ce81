// nspbert tokenize: JSONL {"text": ...} in, one JSONL line of tokens, ids and byte offsets out.
#include <charconv>
#include <cstdio>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/error.h"
#include "tokenizer/tokenizer.h"
#include "tools/cli/command.h"
#include "tools/cli/stream_command.h"

namespace nspbert::cli {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

struct TokenizeOptions {
  std::string model_dir;
  std::string vocab_file;
  bool lowercase = true;
  StreamOptions stream{256};
  std::string field = "text";
  std::string pair_field;
  bool special_tokens = false;
  bool no_special_tokens = false;
  std::string jieba_dict;
  bool split_special_tokens = false;
  bool keep_special_tokens = false;
  size_t max_length = 0;
  bool has_max_length = false;
  std::string truncation = "nsp";
};

// A line that cannot be tokenised; reported on its own output line, processing goes on.
struct LineError {
  std::string message;
};

// nlohmann prefixes its messages with "[json.exception.parse_error.101] ", noise for users.
std::string without_exception_id(const char* what) {
  std::string message = what;
  if (message.starts_with("[json.exception.")) {
    if (const auto close = message.find("] "); close != std::string::npos) message.erase(0, close + 2);
  }
  return message;
}

const std::string& string_field(const json& object, const std::string& name) {
  const auto it = object.find(name);
  if (it == object.end()) throw LineError{"missing field \"" + name + "\""};
  if (!it->is_string()) throw LineError{"field \"" + name + "\" is not a string"};
  return it->get_ref<const std::string&>();
}

// JSON allows U+0085, U+2028 and U+2029 raw, but line-splitting readers (Python's str.splitlines,
// JavaScript) break a line at them; vocabularies hold such tokens, so they are escaped.
std::string quoted(std::string_view text) {
  std::string out = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  if (out.find("\xC2\x85") == std::string::npos && out.find("\xE2\x80\xA8") == std::string::npos &&
      out.find("\xE2\x80\xA9") == std::string::npos)
    return out;
  std::string escaped;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string_view rest = std::string_view(out).substr(i);
    if (rest.starts_with("\xC2\x85")) {
      escaped += "\\u0085", i += 1;
    } else if (rest.starts_with("\xE2\x80\xA8") || rest.starts_with("\xE2\x80\xA9")) {
      escaped += rest[2] == '\xA8' ? "\\u2028" : "\\u2029", i += 2;
    } else {
      escaped += out[i];
    }
  }
  return escaped;
}

template <typename Integer>
void append_number(std::string& out, Integer value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Appends "key":[item(0),item(1),...].
template <typename AppendItem>
void append_array(std::string& out, const char* key, size_t count, AppendItem append_item) {
  out += '"';
  out += key;
  out += "\":[";
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    append_item(i);
  }
  out += ']';
}

// Writes result lines straight into the output buffer. Vocabulary strings are JSON-escaped
// (by nlohmann, invalid UTF-8 replaced) once each and reused, which keeps the output cheap.
class ResultWriter {
 public:
  explicit ResultWriter(const Tokenizer& tokenizer) : tokenizer_(tokenizer), quoted_tokens_(tokenizer.vocab_size()) {}

  void append_token(std::string& out, std::string_view text, int32_t id) {
    const bool from_vocabulary =
        id >= 0 && static_cast<size_t>(id) < quoted_tokens_.size() && text == tokenizer_.token_of(id);
    if (!from_vocabulary) {
      out += quoted(text);
      return;
    }
    std::string& cached = quoted_tokens_[static_cast<size_t>(id)];
    if (cached.empty()) cached = quoted(text);
    out += cached;
  }

  void tokens(std::string& out, const std::vector<Token>& tokens) {
    const size_t n = tokens.size();
    out += '{';
    append_array(out, "tokens", n, [&](size_t i) { append_token(out, tokens[i].text, tokens[i].id); });
    out += ',';
    append_array(out, "ids", n, [&](size_t i) { append_number(out, tokens[i].id); });
    out += ',';
    append_array(out, "offsets", n, [&](size_t i) { append_offsets(out, tokens[i].begin, tokens[i].end); });
    out += "}\n";
  }

  void encoding(std::string& out, const Encoding& encoding) {
    const size_t n = encoding.ids.size();
    out += '{';
    append_array(out, "tokens", n, [&](size_t i) { append_token(out, encoding.tokens[i], encoding.ids[i]); });
    out += ',';
    append_array(out, "ids", n, [&](size_t i) { append_number(out, encoding.ids[i]); });
    out += ',';
    append_array(out, "type_ids", n, [&](size_t i) { append_number(out, encoding.type_ids[i]); });
    out += ',';
    append_array(out, "offsets", n,
                 [&](size_t i) { append_offsets(out, encoding.offsets[i].first, encoding.offsets[i].second); });
    out += encoding.truncated ? ",\"truncated\":true}\n" : ",\"truncated\":false}\n";
  }

 private:
  static void append_offsets(std::string& out, size_t begin, size_t end) {
    out += '[';
    append_number(out, begin);
    out += ',';
    append_number(out, end);
    out += ']';
  }

  const Tokenizer& tokenizer_;
  std::vector<std::string> quoted_tokens_;
};

class LineTokenizer {
 public:
  LineTokenizer(const TokenizeOptions& options, std::unique_ptr<Tokenizer> tokenizer)
      : options_(options), tokenizer_(std::move(tokenizer)), writer_(*tokenizer_) {
    pair_ = !options.pair_field.empty();
    rule_ = options.truncation == "longest-first" ? Truncation::LongestFirst : Truncation::NspReference;
    encodes_ = options.special_tokens || pair_ || options.has_max_length;
    add_special_ = !options.no_special_tokens;
    max_length_ = options.has_max_length ? options.max_length : std::numeric_limits<size_t>::max();
    // Fails now, with the library's message, if the limit cannot hold the special tokens.
    if (encodes_) {
      encode(*tokenizer_, "", pair_ ? std::optional<std::string_view>("") : std::nullopt, max_length_, rule_,
             add_special_);
    }
  }

  // Appends the result line for one input line to `out`; throws LineError for bad input.
  void process(const std::string& line, std::string& out) {
    json request;
    try {
      request = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers past double ("1e400")
      throw LineError{"not valid JSON: " + without_exception_id(e.what())};
    }
    if (!request.is_object()) throw LineError{"expected a JSON object such as {\"" + options_.field + "\": \"...\"}"};
    const std::string& text = string_field(request, options_.field);
    if (!encodes_) return writer_.tokens(out, tokenizer_->tokenize(text));
    std::optional<std::string_view> pair;
    if (pair_) pair = string_field(request, options_.pair_field);
    writer_.encoding(out, encode(*tokenizer_, text, pair, max_length_, rule_, add_special_));
  }

 private:
  const TokenizeOptions& options_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ResultWriter writer_;
  Truncation rule_ = Truncation::NspReference;
  bool pair_ = false;
  bool encodes_ = false;
  bool add_special_ = true;
  size_t max_length_ = 0;
};

TokenizerOptions tokenizer_options(const TokenizeOptions& options) {
  TokenizerOptions result;
  result.jieba_dict = options.jieba_dict;
  result.split_special_tokens = options.split_special_tokens;
  return result;
}

int run(const TokenizeOptions& options) {
  if (options.model_dir.empty() && options.vocab_file.empty()) fail_usage("tokenize needs --model DIR or --vocab FILE");
  if (options.no_special_tokens && options.pair_field.empty() && !options.has_max_length)
    fail_usage("--no-special-tokens applies to encoded sequences: give --pair-field or --max-length");
  const std::unique_ptr<io::JsonlReader> reader = options.stream.open(options.field);
  reader->keep_lines_unparsed();  // LineTokenizer parses each line itself
  auto tokenizer = options.model_dir.empty()
                       ? Tokenizer::from_vocab(options.vocab_file, options.lowercase, options.keep_special_tokens)
                       : Tokenizer::from_model_dir(options.model_dir, tokenizer_options(options));
  LineTokenizer line_tokenizer(options, std::move(tokenizer));
  std::string result;
  auto tokenize_chunk = [&](std::vector<io::JsonlItem>& items, LineSink& sink) {
    for (const io::JsonlItem& item : items) {
      result.clear();
      bool failed = false;
      try {
        line_tokenizer.process(item.text, result);
      } catch (const LineError& e) {
        failed = true;
        result = ordered_json{{"line", item.line}, {"error", e.message}}.dump(-1, ' ', false,
                                                                              json::error_handler_t::replace);
      }
      if (!result.empty() && result.back() == '\n') result.pop_back();
      sink.add(item.line, result, failed);
    }
  };
  return run_stream(options.stream, *reader, StreamWords("tokenized"),
                    each_chunk(options.stream.chunk_size, tokenize_chunk));
}

Runner setup(CLI::App& sub) {
  auto options = std::make_shared<TokenizeOptions>();
  auto* model = sub.add_option("--model", options->model_dir,
                               "Model folder with vocab.txt (+ tokenizer_config.json, tokenizer.json) "
                               "or a SentencePiece model");
  auto* vocab = sub.add_option("--vocab", options->vocab_file, "WordPiece vocab.txt, used without a model folder");
  model->excludes(vocab);
  sub.add_flag("--lower,!--no-lower", options->lowercase,
               "With --vocab: lower-case and strip accents (default --lower), or keep case")
      ->needs(vocab);
  options->stream.add_to(sub, /*positional_texts=*/false);
  sub.add_option("--field", options->field, "Name of the text field")->capture_default_str();
  sub.add_option("--pair-field", options->pair_field,
                 "Second text field: encode [CLS] A [SEP] B [SEP] and also print type_ids")
      ->default_str("none: single texts");
  auto* special = sub.add_flag("--special-tokens", options->special_tokens, "Wrap single texts as [CLS] A [SEP]");
  sub.add_flag("--no-special-tokens", options->no_special_tokens,
               "With --pair-field or --max-length: encode A (B) without [CLS]/[SEP] (type ids 0 for A, 1 for B)")
      ->excludes(special);
  auto* jieba = sub.add_option("--jieba-dict", options->jieba_dict,
                               "jieba's dict.txt for RoFormer word-level vocabularies (default: the model folder's "
                               "jieba_dict.txt, else python3-jieba's)");
  auto* split = sub.add_flag("--split-special-tokens", options->split_special_tokens,
                             "With --model: tokenise [MASK], [CLS]... written in a text like any other text "
                             "(default: each stays one token, as in Hugging Face)");
  auto* keep = sub.add_flag("--keep-special-tokens", options->keep_special_tokens,
                            "With --vocab: keep [MASK], [CLS]... written in a text as one token each (default: the "
                            "original BERT tokenizer splits them)");
  jieba->needs(model);
  split->needs(model);
  keep->needs(vocab);
  auto* max_length = sub.add_option("--max-length", options->max_length,
                                    "Truncate encoded sequences to this many tokens, special tokens included")
                         ->default_str("no limit");
  sub.add_option("--truncation", options->truncation,
                 "Which segment loses tokens: nsp (the longer, ties from A) or longest-first (ties from B)")
      ->check(CLI::IsMember({"nsp", "longest-first"}))
      ->capture_default_str();
  return [options, max_length] {
    options->has_max_length = max_length->count() > 0;
    return run(*options);
  };
}

static const bool registered = register_command(
    {"tokenize", "Split JSONL texts into tokens, ids and byte offsets (one output line per input line)", setup});

}  // namespace
}  // namespace nspbert::cli
