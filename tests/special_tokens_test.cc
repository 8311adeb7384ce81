// Special tokens written inside a text, never_split, pairs without special tokens, and RoFormer's
// word-level tokenizer end to end through the CLI (tokenize, inspect, classify against forward).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli_test_support.h"
#include "tokenizer/tokenizer.h"

namespace nspbert {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::CliResult;
using test_support::quote;
using test_support::slurp;
using test_support::write_file;

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kZhVocab = kData / "vocab" / "zh_vocab.txt";
const fs::path kBertFolder = kData / "fixtures" / "models" / "bert-zh-tiny";
const fs::path kWordFolder = kData / "wordseg" / "roformer-words-small";

std::vector<std::string> texts(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const Token& t : tokens) out.push_back(t.text);
  return out;
}

using Strings = std::vector<std::string>;

TEST(SpecialTokensInText, ModelFoldersKeepThemWholeWithIdAndOffsets) {
  const auto tok = Tokenizer::from_model_dir(kBertFolder);
  const std::vector<Token> tokens = tok->tokenize("这是一则[MASK][MASK]新闻[SEP]");
  EXPECT_EQ(texts(tokens), (Strings{"这", "是", "一", "则", "[MASK]", "[MASK]", "新", "闻", "[SEP]"}));
  EXPECT_EQ(tokens[4].id, *tok->id_of("[MASK]"));
  EXPECT_EQ(tokens[4].begin, 12u);
  EXPECT_EQ(tokens[4].end, 18u);
  EXPECT_EQ(tokens[5].begin, 18u);
  EXPECT_EQ(tokens[8].id, tok->special().sep);
  // Case-sensitive, as Hugging Face matches them: "[mask]" is ordinary text.
  EXPECT_EQ(texts(tok->tokenize("[mask]")), (Strings{"[", "ma", "##sk", "]"}));
}

TEST(SpecialTokensInText, SplitWhenAskedAndByThePlainVocabulary) {
  TokenizerOptions split;
  split.split_special_tokens = true;
  // WordPiece pieces as tests/data/wordseg/cases.jsonl has them from the reference.
  const Strings split_tokens{"[", "ma", "##sk", "]", "好"};
  EXPECT_EQ(texts(Tokenizer::from_model_dir(kBertFolder, split)->tokenize("[MASK]好")),
            (Strings{"[", "[UNK]", "]", "好"}));  // bert-zh-tiny keeps case: no piece for "MASK"
  EXPECT_EQ(texts(Tokenizer::from_vocab(kZhVocab, true)->tokenize("[MASK]好")), split_tokens);
  const auto keep = Tokenizer::from_vocab(kZhVocab, true, /*keep_special_tokens=*/true);
  EXPECT_EQ(texts(keep->tokenize("[CLS]好[MASK]")), (Strings{"[CLS]", "好", "[MASK]"}));
}

// A copy of bert-zh-tiny's tokenizer files with extra configuration.
class TokenizerFolder : public test_support::ScratchDirTest {
 protected:
  fs::path folder(const json& tokenizer_config) {
    const fs::path dir = dir_ / "folder";
    fs::create_directories(dir);
    fs::copy_file(kZhVocab, dir / "vocab.txt");
    write_file(dir / "tokenizer_config.json", tokenizer_config.dump());
    return dir;
  }
  CliResult run(const std::string& args) const {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string command = std::string(NSPBERT_CLI) + " " + args + " >" + quote(out.string()) + " 2>" +
                                quote(err.string()) + " <" + quote((dir_ / "in.jsonl").string());
    const int status = std::system(command.c_str());
    return CliResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
};

TEST_F(TokenizerFolder, AddedAndAdditionalSpecialTokensStayWhole) {
  const fs::path dir = folder({{"do_lower_case", true}, {"additional_special_tokens", {"[unused27]"}}});
  write_file(dir / "added_tokens.json", R"({"<new>": 21128})");
  const auto tok = Tokenizer::from_model_dir(dir);
  const std::vector<Token> tokens = tok->tokenize("A[unused27]b<new>");
  EXPECT_EQ(texts(tokens), (Strings{"a", "[unused27]", "b", "<new>"}));
  EXPECT_EQ(tokens[1].id, *tok->id_of("[unused27]"));
  EXPECT_EQ(tokens[3].id, 21128);
  EXPECT_EQ(tok->vocab_size(), 21129u);
  EXPECT_EQ(tok->token_of(21128), "<new>");
}

TEST_F(TokenizerFolder, NeverSplitWordsAreOneTokenNeitherLowerCasedNorSplit) {
  const fs::path dir = folder({{"do_lower_case", true}, {"never_split", {"[unused27]", "Hello-World"}}});
  TokenizerOptions split;  // the added-token pass would hide never_split for [unused27]
  split.split_special_tokens = true;
  const auto tok = Tokenizer::from_model_dir(dir, split);
  const std::vector<Token> tokens = tok->tokenize("say Hello-World 好 [unused27]");
  EXPECT_EQ(texts(tokens), (Strings{"say", "[UNK]", "好", "[unused27]"}));
  EXPECT_EQ(tokens[1].begin, 4u);
  EXPECT_EQ(tokens[1].end, 15u);
  EXPECT_EQ(texts(tok->tokenize("Hello-World!")), (Strings{"hello", "-", "world", "!"}));  // not a whole word
}

TEST_F(TokenizerFolder, TokenizeCliFlags) {
  const fs::path dir = folder({{"do_lower_case", true}});
  write_file(dir_ / "in.jsonl", R"({"text": "[MASK]好", "b": "[SEP]坏"})"
                                "\n");
  const auto tokens_of = [&](const std::string& args) {
    const CliResult r = run("tokenize " + args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  };
  const std::string model = "--model " + quote(dir.string());
  EXPECT_EQ(tokens_of(model)["tokens"], json({"[MASK]", "好"}));
  EXPECT_EQ(tokens_of(model + " --split-special-tokens")["tokens"], json({"[", "ma", "##sk", "]", "好"}));
  EXPECT_EQ(tokens_of("--vocab " + quote(kZhVocab.string()))["tokens"], json({"[", "ma", "##sk", "]", "好"}));
  const json kept = tokens_of("--vocab " + quote(kZhVocab.string()) + " --keep-special-tokens");
  EXPECT_EQ(kept["tokens"], json({"[MASK]", "好"}));
  EXPECT_EQ(kept["offsets"], json({{0, 6}, {6, 9}}));
  const json pair = tokens_of(model + " --pair-field b --no-special-tokens");
  EXPECT_EQ(pair["tokens"], json({"[MASK]", "好", "[SEP]", "坏"}));
  EXPECT_EQ(pair["type_ids"], json({0, 0, 1, 1}));
  EXPECT_EQ(tokens_of(model + " --pair-field b")["tokens"],
            json({"[CLS]", "[MASK]", "好", "[SEP]", "[SEP]", "坏", "[SEP]"}));
}

TEST_F(TokenizerFolder, SpecialTokenFlagsOutsideTheirModeAreUsageErrors) {
  const fs::path dir = folder({{"do_lower_case", true}});
  write_file(dir_ / "in.jsonl", "{\"text\": \"好\"}\n");
  const std::string model = "--model " + quote(dir.string()), vocab = "--vocab " + quote(kZhVocab.string());
  for (const std::string& args : {model + " --no-special-tokens", model + " --keep-special-tokens",
                                  vocab + " --split-special-tokens", vocab + " --jieba-dict x.txt"}) {
    const CliResult r = run("tokenize " + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// roformer-zh-tiny's weights (vocab_size 21128, an NSP head) with the small word-level tokenizer.
class WordLevelModel : public TokenizerFolder {
 protected:
  fs::path model() {
    const fs::path dir = dir_ / "roformer-words";
    fs::create_directories(dir);
    const fs::path weights = kData / "fixtures" / "models" / "roformer-zh-tiny";
    for (const char* name : {"config.json", "model.safetensors"}) fs::copy_file(weights / name, dir / name);
    for (const char* name : {"vocab.txt", "tokenizer_config.json", "jieba_dict.txt"})
      fs::copy_file(kWordFolder / name, dir / name);
    write_file(dir_ / "in.jsonl", "");
    return dir;
  }
};

TEST_F(WordLevelModel, InspectReportsTheTokenizerAndItsDictionary) {
  const fs::path dir = model();
  const CliResult r = run("inspect --format json --model " + quote(dir.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json info = json::parse(r.out);
  EXPECT_EQ(info["tokenizer"], "jieba+wordpiece");
  EXPECT_EQ(info["jieba_dict"], (dir / "jieba_dict.txt").string());
  EXPECT_EQ(info["vocabulary"], (dir / "vocab.txt").string());
}

// The ids python3-jieba + the reference rule give (tests/data/wordseg/cases.jsonl).
std::vector<int32_t> reference_ids(const std::string& text) {
  std::ifstream in(kData / "wordseg" / "cases.jsonl");
  for (std::string line; std::getline(in, line);) {
    const json row = json::parse(line);
    if (row["text"] == text) return row["ids"].get<std::vector<int32_t>>();
  }
  ADD_FAILURE() << "no case for " << text;
  return {};
}

TEST_F(WordLevelModel, ClassifyScoresTheReferenceWordIds) {
  const fs::path dir = model();
  const CliResult c = run("classify --model " + quote(dir.string()) +
                          " --template '这是一则{label}新闻' --labels 体育,财经 --format json 南京市长江大桥");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json classified = json::parse(c.out);
  json scores;  // by label
  for (const json& s : classified[0]["scores"]) scores[s["label"].get<std::string>()] = s;

  const std::vector<int32_t> text = reference_ids("南京市长江大桥");  // [南京市, 长江大桥]: two word tokens
  ASSERT_EQ(text.size(), 2u);
  json request = {{"input_ids", json::array()}, {"token_type_ids", json::array()}};
  for (const char* prompt : {"这是一则体育新闻", "这是一则财经新闻"}) {
    std::vector<int32_t> ids{101}, types{0};  // [CLS] prompt [SEP] text [SEP]
    for (int32_t id : reference_ids(prompt)) ids.push_back(id), types.push_back(0);
    ids.push_back(102), types.push_back(0);
    for (int32_t id : text) ids.push_back(id), types.push_back(1);
    ids.push_back(102), types.push_back(1);
    request["input_ids"].push_back(ids);
    request["token_type_ids"].push_back(types);
  }
  // Same lengths (体育 is one word token, 财经新闻 is not a vocabulary word: four characters).
  if (request["input_ids"][0].size() != request["input_ids"][1].size()) {
    request["attention_mask"] = json::array();
    const size_t longest = std::max(request["input_ids"][0].size(), request["input_ids"][1].size());
    for (json& row : request["input_ids"]) {
      json mask = json::array();
      for (size_t t = 0; t < longest; ++t) mask.push_back(t < row.size() ? 1 : 0);
      request["attention_mask"].push_back(mask);
    }
    for (json* rows : {&request["input_ids"], &request["token_type_ids"]}) {
      for (json& row : *rows) {
        while (row.size() < longest) row.push_back(0);
      }
    }
  }
  write_file(dir_ / "request.json", request.dump());
  const CliResult f =
      run("forward --no-stats --model " + quote(dir.string()) + " --input " + quote((dir_ / "request.json").string()));
  ASSERT_EQ(f.exit_code, 0) << f.err;
  const json probs = json::parse(f.out)["nsp_prob_is_next"];
  ASSERT_TRUE(probs.is_array() && probs.size() == 2) << request.dump() << "\n" << f.out.substr(0, 300);
  ASSERT_TRUE(scores.contains("体育") && scores.contains("财经")) << c.out;
  EXPECT_NEAR(scores["体育"]["prob_is_next"].get<double>(), probs[0].get<double>(), 1e-4) << c.out;
  EXPECT_NEAR(scores["财经"]["prob_is_next"].get<double>(), probs[1].get<double>(), 1e-4) << c.out;
}

}  // namespace
}  // namespace nspbert
