#include "tokenizer/tokenizer.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/error.h"
#include "engine/json_depth.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/roformer_word_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace nspbert {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) fail_model(file.string() + " is a directory, not a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_model("cannot read " + file.string());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Walking the normalizer tree recurses once per level: refuse absurd nesting up front.
  if (json_nests_deeper_than(text))
    fail_model(file.string() + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail_model(file.string() + " is not valid JSON: " + e.what());
  }
}

std::optional<bool> optional_bool(const json& object, const char* key, const fs::path& file) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail_model(file.string() + ": \"" + key + "\" must be true, false or null");
  return it->get<bool>();
}

// Special tokens appear as plain strings or as AddedToken objects {"content": "[CLS]", ...}.
void read_token_name(const json& config, const char* key, std::string& name) {
  const auto it = config.find(key);
  if (it == config.end()) return;
  if (it->is_string()) name = it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) name = (*it)["content"];
}

// special_tokens_map.json names the same tokens; Hugging Face lets it override the config.
void apply_special_tokens_map(const json& map, SpecialTokenNames& names) {
  read_token_name(map, "cls_token", names.cls);
  read_token_name(map, "sep_token", names.sep);
  read_token_name(map, "pad_token", names.pad);
  read_token_name(map, "unk_token", names.unk);
  read_token_name(map, "mask_token", names.mask);
}

void apply_tokenizer_config(const json& config, const fs::path& file, BertNormalization& normalization,
                            SpecialTokenNames& names) {
  if (const auto lowercase = optional_bool(config, "do_lower_case", file)) normalization.lowercase = *lowercase;
  if (config.contains("strip_accents")) normalization.strip_accents = optional_bool(config, "strip_accents", file);
  if (const auto chinese = optional_bool(config, "tokenize_chinese_chars", file)) {
    normalization.handle_chinese_chars = *chinese;
  }
  read_token_name(config, "cls_token", names.cls);
  read_token_name(config, "sep_token", names.sep);
  read_token_name(config, "pad_token", names.pad);
  read_token_name(config, "unk_token", names.unk);
  read_token_name(config, "mask_token", names.mask);
}

const json* find_bert_normalizer(const json& normalizer) {
  if (!normalizer.is_object()) return nullptr;
  const auto type = normalizer.value("type", std::string());
  if (type == "BertNormalizer") return &normalizer;
  if (type == "Sequence" && normalizer.contains("normalizers") && normalizer["normalizers"].is_array()) {
    for (const auto& inner : normalizer["normalizers"]) {
      if (const json* found = find_bert_normalizer(inner)) return found;
    }
  }
  return nullptr;
}

// tokenizer.json is what Hugging Face's fast tokenizer loads, so its normaliser wins.
void apply_tokenizer_json(const json& tokenizer, const fs::path& file, BertNormalization& normalization,
                          SpecialTokenNames& names) {
  if (!tokenizer.is_object()) return;
  if (const json* bert = tokenizer.contains("normalizer") ? find_bert_normalizer(tokenizer["normalizer"]) : nullptr) {
    if (const auto clean = optional_bool(*bert, "clean_text", file)) normalization.clean_text = *clean;
    if (const auto chinese = optional_bool(*bert, "handle_chinese_chars", file)) {
      normalization.handle_chinese_chars = *chinese;
    }
    if (const auto lowercase = optional_bool(*bert, "lowercase", file)) normalization.lowercase = *lowercase;
    if (bert->contains("strip_accents")) normalization.strip_accents = optional_bool(*bert, "strip_accents", file);
  }
  const auto model = tokenizer.find("model");
  if (model != tokenizer.end() && model->is_object() && model->value("type", std::string()) == "WordPiece") {
    const auto limit = model->find("max_input_chars_per_word");
    if (limit != model->end() && limit->is_number_unsigned()) {
      normalization.max_input_chars_per_word = limit->get<size_t>();
    }
    read_token_name(*model, "unk_token", names.unk);
  }
}

// Hugging Face's AutoTokenizer: tokenizer_config.json's tokenizer_class, else the model type.
bool uses_jieba_words(const json& config, const fs::path& dir) {
  const auto cls = config.find("tokenizer_class");
  if (cls != config.end() && !cls->is_null()) {
    return cls->is_string() && (*cls == "RoFormerTokenizer" || *cls == "RoFormerTokenizerFast");
  }
  if (!fs::exists(dir / "config.json")) return false;
  const json model_config = read_json(dir / "config.json");
  return model_config.is_object() && model_config.value("model_type", json()) == "roformer";
}

std::shared_ptr<const JiebaDictionary> find_jieba_dictionary(const fs::path& dir, const TokenizerOptions& options) {
  if (!options.jieba_dict.empty()) return JiebaDictionary::load(options.jieba_dict);
  for (const fs::path& candidate : {dir / "jieba_dict.txt", options.system_jieba_dict}) {
    if (fs::exists(candidate)) return JiebaDictionary::load(candidate);
  }
  fail_model("model folder " + dir.string() +
             " has a word-level RoFormer vocabulary, which needs jieba's dictionary, and none was found "
             "(looked for --jieba-dict FILE, " +
             (dir / "jieba_dict.txt").string() + ", " + options.system_jieba_dict.string() +
             " from the python3-jieba package)");
}

std::optional<json> read_optional_json(const fs::path& file) {
  if (!fs::exists(file)) return std::nullopt;
  json value = read_json(file);
  if (!value.is_object()) fail_model(file.string() + " must hold a JSON object");
  return value;
}

// A token name as a plain string or an AddedToken object {"content": ...}.
std::optional<std::string> token_content(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) return value["content"];
  return std::nullopt;
}

// Every token Hugging Face keeps whole in a text: the special tokens, additional_special_tokens,
// added_tokens.json, added_tokens_decoder and tokenizer.json's added_tokens. Tokens the
// vocabulary lacks and no file gives an id are left out: the model has no embedding for them.
std::vector<AddedToken> added_tokens(const fs::path& dir, const Tokenizer& tok, const SpecialTokenNames& names,
                                     const std::vector<const json*>& configs) {
  std::vector<AddedToken> tokens;
  const auto add = [&](const std::string& content, std::optional<int32_t> id) {
    if (!id) id = tok.id_of(content);
    if (id) tokens.push_back({content, *id});
  };
  for (const std::string* name : {&names.cls, &names.sep, &names.pad, &names.unk, &names.mask})
    add(*name, std::nullopt);
  for (const json* config : configs) {
    const auto extra = config->find("additional_special_tokens");
    if (extra != config->end() && extra->is_array()) {
      for (const json& item : *extra) {
        if (const auto content = token_content(item)) add(*content, std::nullopt);
      }
    }
    const auto decoder = config->find("added_tokens_decoder");
    if (decoder != config->end() && decoder->is_object()) {
      for (const auto& [key, item] : decoder->items()) {
        const auto content = token_content(item);
        int32_t id = -1;
        if (content && std::sscanf(key.c_str(), "%d", &id) == 1 && id >= 0) add(*content, id);
      }
    }
    const auto list = config->find("added_tokens");  // tokenizer.json
    if (list != config->end() && list->is_array()) {
      for (const json& item : *list) {
        const auto content = token_content(item);
        if (content && item.contains("id") && item["id"].is_number_unsigned()) add(*content, item["id"].get<int32_t>());
      }
    }
  }
  if (const auto file = dir.empty() ? std::nullopt : read_optional_json(dir / "added_tokens.json")) {
    for (const auto& [content, id] : file->items()) {
      if (id.is_number_unsigned()) add(content, id.get<int32_t>());
    }
  }
  return tokens;
}

std::vector<std::string> never_split_words(const json& config) {
  std::vector<std::string> words;
  const auto list = config.find("never_split");
  if (list != config.end() && list->is_array()) {
    for (const json& item : *list) {
      if (item.is_string()) words.push_back(item);
    }
  }
  return words;
}

}  // namespace

const char* tokenizer_kind_name(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::WordPiece: return "wordpiece";
    case TokenizerKind::JiebaWordPiece: return "jieba+wordpiece";
    case TokenizerKind::SentencePiece: return "sentencepiece";
  }
  return "unknown";
}

std::unique_ptr<Tokenizer> Tokenizer::from_model_dir(const fs::path& dir, const TokenizerOptions& options) {
  if (!fs::is_directory(dir)) fail_model("model folder " + dir.string() + " does not exist or is not a folder");
  const fs::path config_file = dir / "tokenizer_config.json";
  const json config = fs::exists(config_file) ? read_json(config_file) : json::object();
  if (!config.is_object()) fail_model(config_file.string() + " must hold a JSON object");

  if (fs::exists(dir / "vocab.txt")) {
    BertNormalization normalization;  // lower-cases by default, as Hugging Face's BertTokenizer
    SpecialTokenNames names;
    apply_tokenizer_config(config, config_file, normalization, names);
    const std::optional<json> special_map = read_optional_json(dir / "special_tokens_map.json");
    if (special_map) apply_special_tokens_map(*special_map, names);
    const fs::path tokenizer_file = dir / "tokenizer.json";
    const json tokenizer_json = fs::exists(tokenizer_file) ? read_json(tokenizer_file) : json::object();
    apply_tokenizer_json(tokenizer_json, tokenizer_file, normalization, names);
    auto wordpiece =
        std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::read_vocab(dir / "vocab.txt"), normalization, names);
    wordpiece->set_never_split(never_split_words(config));
    std::unique_ptr<Tokenizer> tokenizer = std::move(wordpiece);
    if (uses_jieba_words(config, dir)) {
      tokenizer = std::make_unique<RoFormerWordTokenizer>(
          std::unique_ptr<WordPieceTokenizer>(static_cast<WordPieceTokenizer*>(tokenizer.release())),
          find_jieba_dictionary(dir, options), normalization.lowercase);
    }
    if (!options.split_special_tokens) {
      std::vector<const json*> configs{&config};
      if (special_map) configs.push_back(&*special_map);
      if (tokenizer_json.is_object()) configs.push_back(&tokenizer_json);
      std::vector<AddedToken> added = added_tokens(dir, *tokenizer, names, configs);
      tokenizer = std::make_unique<AddedTokensTokenizer>(std::move(tokenizer), std::move(added));
    }
    tokenizer->source_ = (dir / "vocab.txt").string();
    return tokenizer;
  }
  for (const char* name : {"spiece.model", "sentencepiece.bpe.model"}) {
    if (fs::exists(dir / name)) {
      const bool lowercase = optional_bool(config, "do_lower_case", config_file).value_or(false);
      std::unique_ptr<Tokenizer> tokenizer = std::make_unique<SentencePieceTokenizer>(dir / name, lowercase);
      tokenizer->source_ = (dir / name).string();
      return tokenizer;
    }
  }
  fail_model("no vocabulary in model folder " + dir.string() +
             " (expected vocab.txt, spiece.model or sentencepiece.bpe.model)");
}

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(const fs::path& vocab_txt, bool lower_case, bool keep_special_tokens) {
  BertNormalization normalization;
  normalization.lowercase = lower_case;
  std::unique_ptr<Tokenizer> tokenizer =
      std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::read_vocab(vocab_txt), normalization);
  if (keep_special_tokens) {
    std::vector<AddedToken> added = added_tokens({}, *tokenizer, SpecialTokenNames{}, {});
    tokenizer = std::make_unique<AddedTokensTokenizer>(std::move(tokenizer), std::move(added));
  }
  tokenizer->source_ = vocab_txt.string();
  return tokenizer;
}

Encoding encode(const Tokenizer& tok, std::string_view a, std::optional<std::string_view> b, size_t max_length,
                Truncation rule, bool add_special_tokens) {
  std::optional<std::vector<Token>> b_tokens;
  if (b) b_tokens = tok.tokenize(*b);
  return encode_tokens(tok, tok.tokenize(a), std::move(b_tokens), max_length, rule, add_special_tokens);
}

Encoding encode_tokens(const Tokenizer& tok, std::vector<Token> a, std::optional<std::vector<Token>> b,
                       size_t max_length, Truncation rule, bool add_special_tokens) {
  const SpecialTokens& special = tok.special();
  if (add_special_tokens && (special.cls < 0 || special.sep < 0)) {
    fail_model("the vocabulary " + (tok.source().empty() ? std::string() : tok.source() + " ") +
               "has no [CLS]/[SEP] tokens to build sequences with");
  }
  const size_t special_count = !add_special_tokens ? 0 : b ? 3 : 2;
  if (max_length < special_count) {
    fail_usage("max length " + std::to_string(max_length) + " is smaller than the " + std::to_string(special_count) +
               " special tokens ([CLS], [SEP]" + (b ? ", [SEP]" : "") + ") every sequence needs");
  }
  const size_t budget = max_length - special_count;
  size_t keep_a = a.size(), keep_b = b ? b->size() : 0;
  const bool truncated = keep_a + keep_b > budget;
  while (keep_a + keep_b > budget) {
    const bool from_a = rule == Truncation::NspReference ? keep_a >= keep_b : keep_a > keep_b;
    if (from_a) {
      --keep_a;
    } else {
      --keep_b;
    }
  }

  Encoding encoding;
  encoding.segment_a_tokens = keep_a;
  encoding.segment_b_tokens = keep_b;
  encoding.truncated = truncated;
  const size_t total = keep_a + keep_b + special_count;
  encoding.ids.reserve(total);
  encoding.type_ids.reserve(total);
  encoding.offsets.reserve(total);
  encoding.tokens.reserve(total);
  const auto add_special = [&](int32_t id, int32_t type) {
    if (!add_special_tokens) return;
    encoding.ids.push_back(id);
    encoding.type_ids.push_back(type);
    encoding.offsets.emplace_back(0, 0);
    encoding.tokens.emplace_back(tok.token_of(id));
  };
  const auto add_segment = [&](std::vector<Token>& tokens, size_t count, int32_t type) {
    for (size_t i = 0; i < count; ++i) {
      encoding.ids.push_back(tokens[i].id);
      encoding.type_ids.push_back(type);
      encoding.offsets.emplace_back(tokens[i].begin, tokens[i].end);
      encoding.tokens.push_back(std::move(tokens[i].text));
    }
  };
  add_special(special.cls, 0);
  add_segment(a, keep_a, 0);
  add_special(special.sep, 0);
  if (b) {
    add_segment(*b, keep_b, 1);
    add_special(special.sep, 1);
  }
  return encoding;
}

}  // namespace nspbert
