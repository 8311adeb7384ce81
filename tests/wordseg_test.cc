// RoFormer's word-level tokenizer: jieba's non-HMM cut (tokenizer/jieba.h), the word-then-WordPiece
// rule (tokenizer/roformer_word_tokenizer.h), special tokens written in a text
// (tokenizer/added_tokens.h), and the CLI around them. Expected pieces and tokens come from
// python3-jieba (tests/data/wordseg/make_cases.py wrote cases.jsonl) or are checked by hand below.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/cli_test_support.h"
#include "tokenizer/jieba.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace nspbert {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::CliResult;
using test_support::quote;
using test_support::slurp;
using test_support::write_file;

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kWordseg = kData / "wordseg";
const fs::path kWordFolder = kWordseg / "roformer-words-small";

std::vector<std::string> cut(const JiebaDictionary& dictionary, std::string_view text) {
  std::vector<TextSpan> spans;
  jieba_cut(dictionary, text, spans);
  std::vector<std::string> pieces;
  for (const TextSpan& s : spans) pieces.emplace_back(text.substr(s.begin, s.end - s.begin));
  return pieces;
}

std::vector<std::string> token_texts(const std::vector<Token>& tokens) {
  std::vector<std::string> texts;
  for (const Token& t : tokens) texts.push_back(t.text);
  return texts;
}

std::vector<json> cases() {
  std::vector<json> rows;
  std::ifstream in(kWordseg / "cases.jsonl");
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

const JiebaDictionary& small_dictionary() {
  static const auto dictionary = JiebaDictionary::load(kWordseg / "jieba_dict.txt");
  return *dictionary;
}

TEST(JiebaCut, HandCheckedSentences) {
  using V = std::vector<std::string>;
  EXPECT_EQ(cut(small_dictionary(), "南京市长江大桥"), (V{"南京市", "长江大桥"}));
  EXPECT_EQ(cut(small_dictionary(), "结婚的和尚未结婚的"), (V{"结婚", "的", "和", "尚未", "结婚", "的"}));
  // Outside re_han blocks every character is a piece, "\r\n" is one; single ASCII letters and
  // digits of the route are glued; full-width letters are not in re_han.
  EXPECT_EQ(cut(small_dictionary(), "a\r\n\r中"), (V{"a", "\r\n", "\r", "中"}));
  EXPECT_EQ(cut(small_dictionary(), "ＡＢ12x"), (V{"Ａ", "Ｂ", "12x"}));
  EXPECT_EQ(cut(small_dictionary(), ""), V{});
}

TEST(JiebaCut, TiesGoToTheLongerFirstWordAsPythonsTupleMax) {
  // "甲乙|丙" and "甲|乙丙" both score 2 (log 1 - log total): jieba's max over (score, end)
  // tuples takes the larger end at the tie, so "甲乙" (python3-jieba agrees).
  const auto dictionary = JiebaDictionary::parse("甲乙 1\n乙丙 1\n甲 1\n乙 1\n丙 1\n", "tie.txt");
  EXPECT_EQ(cut(*dictionary, "甲乙丙"), (std::vector<std::string>{"甲乙", "丙"}));
  EXPECT_EQ(cut(*dictionary, "丁"), (std::vector<std::string>{"丁"}));  // not in the dictionary
}

TEST(JiebaCut, MatchesPython3JiebaOnEveryCase) {
  for (const json& row : cases()) {
    const std::string text = row["text"];
    EXPECT_EQ(cut(small_dictionary(), text), row["pieces"].get<std::vector<std::string>>()) << text;
    EXPECT_EQ(cut(small_dictionary(), lower_like_python(text).text),
              row["lower_pieces"].get<std::vector<std::string>>())
        << text;
  }
}

TEST(JiebaCut, InvalidUtf8BytesArePiecesOfTheirOwn) {
  const std::string text = "南京\xff\xe4\xb8市";
  size_t covered = 0;
  std::vector<TextSpan> spans;
  jieba_cut(small_dictionary(), text, spans);
  for (const TextSpan& s : spans) {
    EXPECT_EQ(s.begin, covered);
    covered = s.end;
  }
  EXPECT_EQ(covered, text.size());
}

TEST(LowerLikePython, FinalSigmaDottedCapitalIAndOffsets) {
  EXPECT_EQ(lower_like_python("ΟΔΟΣ ΣΑ").text, "οδος σα");
  const LoweredText lowered = lower_like_python("İx");
  EXPECT_EQ(lowered.text, "i\u0307x");
  EXPECT_EQ(lowered.source_begin(0), 0u);
  EXPECT_EQ(lowered.source_end(3), 2u);  // "i" + U+0307 both come from "İ"
  EXPECT_EQ(lowered.source_begin(3), 2u);
  EXPECT_TRUE(lower_like_python("ABC中文").same_offsets);
}

TEST(JiebaDictionary, ErrorsAreOneLineNamingFileAndLine) {
  const auto expect_error = [](const std::string& text, const std::string& fragment) {
    try {
      JiebaDictionary::parse(text, "d.txt");
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Model);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  expect_error("", "jieba dictionary d.txt is empty");
  expect_error("南京 3 ns\n长江\n", "d.txt line 2: '长江' has no frequency");
  expect_error("南京 many ns\n", "d.txt line 1: the frequency 'many' of '南京' is not an integer");
  expect_error("南京 3\n\xff\xfe 3\n", "d.txt line 2 is not valid UTF-8");
  expect_error("南京 -3\n", "is negative");
  expect_error("南京 99999999999999999999\n", "too large");
  expect_error("南京 0\n", "no word with a positive frequency");
  expect_error("南京 3\n\n长江 3\n", "d.txt line 2 is empty");
}

TEST(JiebaDictionary, ReadsLikeGenPfdict) {
  // bytes.strip(), CRLF, a tag, int() with '+' and '_', a later duplicate wins.
  const auto d = JiebaDictionary::parse("\t南京 1_0 ns\r\n南京市 +5\n南京 7\n", "d.txt");
  EXPECT_EQ(d->words(), 2u);
  EXPECT_EQ(d->nodes(), 4u);  // root, 南, 南京, 南京市
  const int32_t nan = d->child(JiebaDictionary::kRoot, U'南');
  EXPECT_FALSE(d->is_word(nan));
  const int32_t nanjing = d->child(nan, U'京');
  EXPECT_DOUBLE_EQ(d->log_weight(nanjing), std::log(7.0) - std::log(22.0));  // total counts both lines
  EXPECT_THROW(JiebaDictionary::load(kWordseg / "no_such_dict.txt"), Error);
}

TEST(JiebaDictionary, DefaultDictionaryLoadsFast) {
  const fs::path debian = kDebianJiebaDict;
  if (!fs::exists(debian)) GTEST_SKIP() << debian << " is not installed (python3-jieba)";
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t start_cpu = std::clock();
  const auto dictionary = JiebaDictionary::load(debian);
  const double cpu = static_cast<double>(std::clock() - start_cpu) / CLOCKS_PER_SEC;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Printed, not asserted: a loaded CI machine would make a time limit flaky (README has figures).
  std::printf("[ info     ] %s: %zu words, %zu trie nodes, loaded in %.3f s (%.3f s CPU)\n", debian.c_str(),
              dictionary->words(), dictionary->nodes(), seconds, cpu);
  EXPECT_EQ(dictionary->nodes(), 498114u);  // 498113 distinct prefixes (python3-jieba's FREQ) + the root
  EXPECT_EQ(cut(*dictionary, "南京市长江大桥"), (std::vector<std::string>{"南京市", "长江大桥"}));
}

std::unique_ptr<Tokenizer> word_tokenizer(bool split_special_tokens) {
  TokenizerOptions options;
  options.split_special_tokens = split_special_tokens;
  return Tokenizer::from_model_dir(kWordFolder, options);
}

TEST(RoFormerWordTokenizer, MatchesTheReferenceRuleOnEveryCase) {
  const auto tok = word_tokenizer(/*split_special_tokens=*/true);  // cases.jsonl splits "[MASK]"
  EXPECT_EQ(tok->kind(), TokenizerKind::JiebaWordPiece);
  EXPECT_EQ(tok->word_dictionary(), (kWordFolder / "jieba_dict.txt").string());
  for (const json& row : cases()) {
    const std::vector<Token> tokens = tok->tokenize(row["text"].get<std::string>());
    EXPECT_EQ(token_texts(tokens), row["tokens"].get<std::vector<std::string>>()) << row["text"];
    std::vector<int32_t> ids;
    for (const Token& t : tokens) ids.push_back(t.id);
    EXPECT_EQ(ids, row["ids"].get<std::vector<int32_t>>()) << row["text"];
  }
}

TEST(RoFormerWordTokenizer, OffsetsPointAtTheSourceBytes) {
  const std::string text = "İstanbul大学ΟΔΟΣ";
  const auto tok = word_tokenizer(false);
  for (const Token& t : tok->tokenize(text)) {
    ASSERT_LE(t.end, text.size());
    EXPECT_LT(t.begin, t.end);
  }
  const std::vector<Token> tokens = tok->tokenize(text);
  EXPECT_EQ(tokens[0].text, "i");
  EXPECT_EQ(tokens[0].begin, 0u);  // "i" comes from the two bytes of "İ"
  EXPECT_EQ(tokens[0].end, 2u);
  EXPECT_EQ(text.substr(tokens[5].begin, tokens[5].end - tokens[5].begin), "大学");
}

// A copy of the small word-level folder with `config` as tokenizer_config.json.
class WordFolder : public test_support::ScratchDirTest {
 protected:
  fs::path folder(const json& tokenizer_config, const json& model_config, bool with_dictionary = true) {
    const fs::path dir = dir_ / "folder";
    fs::create_directories(dir);
    fs::copy_file(kWordFolder / "vocab.txt", dir / "vocab.txt");
    if (with_dictionary) fs::copy_file(kWordFolder / "jieba_dict.txt", dir / "jieba_dict.txt");
    write_file(dir / "tokenizer_config.json", tokenizer_config.dump());
    write_file(dir / "config.json", model_config.dump());
    return dir;
  }
  CliResult run(const std::string& args) const {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string command =
        std::string(NSPBERT_CLI) + " " + args + " >" + quote(out.string()) + " 2>" + quote(err.string());
    const int status = std::system(command.c_str());
    return CliResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
};

TEST_F(WordFolder, ChosenAsHuggingFaceAutoTokenizerChooses) {
  const json roformer = {{"model_type", "roformer"}}, bert = {{"model_type", "bert"}};
  const auto kind = [&](const json& config, const json& model) {
    const TokenizerKind k = Tokenizer::from_model_dir(folder(config, model))->kind();
    fs::remove_all(dir_ / "folder");
    return k;
  };
  EXPECT_EQ(kind({{"tokenizer_class", "RoFormerTokenizer"}}, bert), TokenizerKind::JiebaWordPiece);
  EXPECT_EQ(kind({{"tokenizer_class", "RoFormerTokenizerFast"}}, bert), TokenizerKind::JiebaWordPiece);
  EXPECT_EQ(kind(json::object(), roformer), TokenizerKind::JiebaWordPiece);
  EXPECT_EQ(kind({{"tokenizer_class", "BertTokenizer"}}, roformer), TokenizerKind::WordPiece);
  EXPECT_EQ(kind(json::object(), bert), TokenizerKind::WordPiece);
}

TEST_F(WordFolder, WithoutADictionaryAnywhereTheErrorNamesTheThreePlaces) {
  TokenizerOptions options;
  options.system_jieba_dict = dir_ / "not_installed" / "dict.txt";
  const fs::path dir = folder({{"tokenizer_class", "RoFormerTokenizer"}}, json::object(), /*with_dictionary=*/false);
  try {
    Tokenizer::from_model_dir(dir, options);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Model);
    EXPECT_NE(message.find("--jieba-dict FILE"), std::string::npos) << message;
    EXPECT_NE(message.find((dir / "jieba_dict.txt").string()), std::string::npos) << message;
    EXPECT_NE(message.find(options.system_jieba_dict.string()), std::string::npos) << message;
  }
  options.jieba_dict = kWordseg / "jieba_dict.txt";  // --jieba-dict wins over the rest
  EXPECT_EQ(Tokenizer::from_model_dir(dir, options)->word_dictionary(), options.jieba_dict.string());
}

TEST_F(WordFolder, TokenizeCliWorksWithoutWeightsAndReportsDictionaryErrors) {
  const fs::path dir = folder({{"tokenizer_class", "RoFormerTokenizer"}, {"do_lower_case", true}}, json::object());
  write_file(dir_ / "in.jsonl", "{\"text\": \"南京市长江大桥\"}\n");
  const CliResult ok =
      run("tokenize --model " + quote(dir.string()) + " --input " + quote((dir_ / "in.jsonl").string()));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["tokens"], json({"南京市", "长江大桥"}));
  const std::vector<std::pair<std::string, std::string>> broken = {{"missing", ""},
                                                                   {"no_freq.txt", "南京\n"},
                                                                   {"word_freq.txt", "南京 many\n"},
                                                                   {"empty.txt", ""},
                                                                   {"bad_utf8.txt", "南京 3\n\xc3\x28 1\n"}};
  for (const auto& [name, text] : broken) {
    if (name != "missing") write_file(dir_ / name, text);
    const CliResult r = run("tokenize --model " + quote(dir.string()) + " --jieba-dict " +
                            quote((dir_ / name).string()) + " --input " + quote((dir_ / "in.jsonl").string()));
    EXPECT_EQ(r.exit_code, 3) << name;
    EXPECT_EQ(r.err.rfind("nspbert: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find((dir_ / name).string()), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace nspbert
