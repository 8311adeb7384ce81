#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace nspbert {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kData = NSPBERT_TEST_DATA;

// A scratch folder removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "nspbert_tokenizer_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> texts_of(const std::vector<Token>& tokens) {
  std::vector<std::string> texts;
  for (const auto& token : tokens) texts.push_back(token.text);
  return texts;
}

std::vector<std::pair<size_t, size_t>> offsets_of(const std::vector<Token>& tokens) {
  std::vector<std::pair<size_t, size_t>> offsets;
  for (const auto& token : tokens) offsets.emplace_back(token.begin, token.end);
  return offsets;
}

void expect_sane_offsets(const std::vector<Token>& tokens, std::string_view text) {
  size_t previous_begin = 0;
  for (const auto& token : tokens) {
    EXPECT_LE(token.begin, token.end);
    EXPECT_LE(token.end, text.size());
    EXPECT_GE(token.begin, previous_begin);
    previous_begin = token.begin;
  }
}

WordPieceTokenizer letters_tokenizer(BertNormalization normalization = {}) {
  return WordPieceTokenizer(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e", "f", "##a", "abc", "def", "ab", "##c"},
      normalization);
}

TEST(WordPieceTokenizer, ReproducesEveryFixtureRow) {
  std::map<std::pair<std::string, bool>, std::unique_ptr<Tokenizer>> tokenizers;
  size_t rows_checked = 0;
  for (const char* name : {"zh_cased", "zh_uncased", "en_cased", "en_uncased"}) {
    for (const json& row : read_jsonl(kData / "tokenizer" / (std::string(name) + ".jsonl"))) {
      const std::string vocab = row["vocab"];
      const bool lower = row["do_lower_case"];
      auto& tokenizer = tokenizers[{vocab, lower}];
      if (!tokenizer) tokenizer = Tokenizer::from_vocab(kData / vocab, lower);
      const std::string text = row["text"];
      const auto tokens = tokenizer->tokenize(text);
      std::vector<int32_t> ids;
      for (const auto& token : tokens) ids.push_back(token.id);
      EXPECT_EQ(texts_of(tokens), row["tokens"].get<std::vector<std::string>>()) << name << ": " << text;
      EXPECT_EQ(ids, row["ids"].get<std::vector<int32_t>>()) << name << ": " << text;
      expect_sane_offsets(tokens, text);
      ++rows_checked;
    }
  }
  EXPECT_EQ(rows_checked, 1240u);
}

TEST(WordPieceTokenizer, OffsetsPointAtTheSourceBytes) {
  auto tokenizer = Tokenizer::from_vocab(kData / "vocab" / "en_vocab.txt", true);
  const std::string text = "Café au lait, ΟΔΟΣ! 我爱北京";
  const auto tokens = tokenizer->tokenize(text);
  EXPECT_EQ(texts_of(tokens), (std::vector<std::string>{"cafe", "au", "lai", "##t", ",", "ο", "##δ", "##ος", "!", "我",
                                                        "[UNK]", "北", "京"}));
  EXPECT_EQ(offsets_of(tokens), (std::vector<std::pair<size_t, size_t>>{{0, 5},
                                                                        {6, 8},
                                                                        {9, 12},
                                                                        {12, 13},
                                                                        {13, 14},
                                                                        {15, 17},
                                                                        {17, 19},
                                                                        {19, 23},
                                                                        {23, 24},
                                                                        {25, 28},
                                                                        {28, 31},
                                                                        {31, 34},
                                                                        {34, 37}}));
}

TEST(WordPieceTokenizer, CleansControlCharactersAndSplitsOnUnicodeWhitespace) {
  const auto tokenizer = letters_tokenizer();
  // NUL, zero-width space and BOM vanish; U+3000 and U+2028 separate words.
  const std::string text = std::string("a\0bc", 4) + "\u200b\ufeff\u3000def\u2028a\tb";
  const auto tokens = tokenizer.tokenize(text);
  EXPECT_EQ(texts_of(tokens), (std::vector<std::string>{"abc", "def", "a", "b"}));
  EXPECT_EQ(tokens[0].begin, 0u);
  EXPECT_EQ(tokens[0].end, 4u);
}

TEST(WordPieceTokenizer, WordsOverTheCharacterLimitBecomeOneUnknown) {
  const auto tokenizer = letters_tokenizer();
  EXPECT_EQ(tokenizer.tokenize(std::string(200, 'a')).size(), 200u);  // "a" then 199 "##a"
  const auto long_word = tokenizer.tokenize("b " + std::string(201, 'a') + " c");
  EXPECT_EQ(texts_of(long_word), (std::vector<std::string>{"b", "[UNK]", "c"}));
  EXPECT_EQ(long_word[1].begin, 2u);
  EXPECT_EQ(long_word[1].end, 203u);

  BertNormalization hugging_face;
  hugging_face.max_input_chars_per_word = 100;
  const auto hf = letters_tokenizer(hugging_face);
  EXPECT_EQ(hf.tokenize(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(texts_of(hf.tokenize(std::string(101, 'a'))), std::vector<std::string>{"[UNK]"});
}

TEST(WordPieceTokenizer, UnmatchableRemainderMakesTheWholeWordUnknown) {
  const auto tokenizer = letters_tokenizer();
  const auto tokens = tokenizer.tokenize("abcx abc");
  EXPECT_EQ(texts_of(tokens), (std::vector<std::string>{"[UNK]", "abc"}));
  EXPECT_EQ(tokens[0].end, 4u);
}

TEST(WordPieceTokenizer, InvalidUtf8NeverCrashes) {
  const auto tokenizer = letters_tokenizer();
  const auto tokens = tokenizer.tokenize("abc\xff def");
  EXPECT_EQ(texts_of(tokens), (std::vector<std::string>{"abc", "def"}));
  EXPECT_EQ(offsets_of(tokens), (std::vector<std::pair<size_t, size_t>>{{0, 3}, {5, 8}}));

  auto real = Tokenizer::from_vocab(kData / "vocab" / "zh_vocab.txt", true);
  // Stray continuation bytes, truncated sequences, overlong forms, surrogates, beyond U+10FFFF.
  for (const std::string bad : {"\x80", "\xc3", "\xe4\xb8", "\xf0\x9f\x98", "\xc0\xaf", "\xed\xa0\x80",
                                "\xf4\x90\x80\x80", "\xfe\xff", "a\xe4\xb8\xad\xe4", "\xe4\xb8\xad\x80\x80"}) {
    expect_sane_offsets(real->tokenize(bad), bad);
  }
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 64);
  for (int i = 0; i < 20000; ++i) {
    std::string noise(static_cast<size_t>(length(random)), '\0');
    for (char& c : noise) c = static_cast<char>(byte(random));
    expect_sane_offsets(real->tokenize(noise), noise);
  }
}

TEST(WordPieceTokenizer, WithoutCleaningInvalidBytesBecomeReplacementCharacters) {
  BertNormalization raw;
  raw.clean_text = false;
  const WordPieceTokenizer tokenizer({"[UNK]", "a", "\uFFFD", "\xff"}, raw);
  const auto tokens = tokenizer.tokenize("a \xff");
  EXPECT_EQ(texts_of(tokens), (std::vector<std::string>{"a", "\uFFFD"}));
  EXPECT_EQ(tokens[1].id, 2);
}

TEST(WordPieceTokenizer, KeepsCaseWhenAsked) {
  auto cased = Tokenizer::from_vocab(kData / "vocab" / "zh_vocab.txt", false);
  auto uncased = Tokenizer::from_vocab(kData / "vocab" / "zh_vocab.txt", true);
  EXPECT_EQ(texts_of(uncased->tokenize("GPS")), std::vector<std::string>{"gps"});
  EXPECT_NE(texts_of(cased->tokenize("GPS")), std::vector<std::string>{"gps"});
}

TEST(Encoding, PairHasTypeIdsAndPerSegmentOffsets) {
  auto tokenizer = Tokenizer::from_vocab(kData / "vocab" / "en_vocab.txt", true);
  const Encoding encoding = encode(*tokenizer, "Hello there", std::string_view("general kenobi"), 128);
  EXPECT_EQ(encoding.tokens,
            (std::vector<std::string>{"[CLS]", "hello", "there", "[SEP]", "general", "ken", "##ob", "##i", "[SEP]"}));
  EXPECT_EQ(encoding.ids, (std::vector<int32_t>{101, 7592, 2045, 102, 2236, 6358, 16429, 2072, 102}));
  EXPECT_EQ(encoding.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(encoding.offsets, (std::vector<std::pair<size_t, size_t>>{
                                  {0, 0}, {0, 5}, {6, 11}, {0, 0}, {0, 7}, {8, 11}, {11, 13}, {13, 14}, {0, 0}}));
  EXPECT_EQ(encoding.segment_a_tokens, 2u);
  EXPECT_EQ(encoding.segment_b_tokens, 4u);
  EXPECT_FALSE(encoding.truncated);
}

TEST(Encoding, NspReferenceDropsFromTheLongerSegmentTiesFromA) {
  const auto tokenizer = letters_tokenizer();
  // 3 + 3 tokens, room for 5: one tie, the NSP rule drops A's last token.
  const Encoding tie = encode(tokenizer, "a b c", std::string_view("d e f"), 8);
  EXPECT_EQ(tie.tokens, (std::vector<std::string>{"[CLS]", "a", "b", "[SEP]", "d", "e", "f", "[SEP]"}));
  EXPECT_EQ(tie.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_TRUE(tie.truncated);
  EXPECT_EQ(tie.segment_a_tokens, 2u);
  EXPECT_EQ(tie.segment_b_tokens, 3u);

  // 2 + 5 tokens, room for 3: B shrinks to 2, then the tie costs A its last token.
  const Encoding uneven = encode(tokenizer, "a b", std::string_view("c d e f a"), 6);
  EXPECT_EQ(uneven.tokens, (std::vector<std::string>{"[CLS]", "a", "[SEP]", "c", "d", "[SEP]"}));

  // One segment: [CLS] A [SEP] must fit.
  const Encoding single = encode(tokenizer, "a b c d e", std::nullopt, 4);
  EXPECT_EQ(single.tokens, (std::vector<std::string>{"[CLS]", "a", "b", "[SEP]"}));
  EXPECT_EQ(single.type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(single.segment_a_tokens, 2u);
  EXPECT_TRUE(single.truncated);
}

TEST(Encoding, LongestFirstBreaksTiesFromB) {
  const auto tokenizer = letters_tokenizer();
  const Encoding tie = encode(tokenizer, "a b c", std::string_view("d e f"), 8, Truncation::LongestFirst);
  EXPECT_EQ(tie.tokens, (std::vector<std::string>{"[CLS]", "a", "b", "c", "[SEP]", "d", "e", "[SEP]"}));
  // 2 + 5, room for 3: B down to 2, tie from B to 1.
  const Encoding uneven = encode(tokenizer, "a b", std::string_view("c d e f a"), 6, Truncation::LongestFirst);
  EXPECT_EQ(uneven.tokens, (std::vector<std::string>{"[CLS]", "a", "b", "[SEP]", "c", "[SEP]"}));
}

TEST(Encoding, EncodeTokensReusesPretokenisedSegments) {
  const auto tokenizer = letters_tokenizer();
  const Encoding encoding = encode_tokens(tokenizer, tokenizer.tokenize("abc"), tokenizer.tokenize("def a"), 16);
  EXPECT_EQ(encoding.ids, (std::vector<int32_t>{2, 12, 3, 13, 5, 3}));
}

TEST(Encoding, MaxLengthBelowTheSpecialTokensIsAUsageError) {
  const auto tokenizer = letters_tokenizer();
  try {
    encode(tokenizer, "a", std::string_view("b"), 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("special tokens"), std::string::npos);
  }
  EXPECT_THROW(encode(tokenizer, "a", std::nullopt, 1), Error);
  const Encoding only_specials = encode(tokenizer, "a b", std::nullopt, 2);
  EXPECT_EQ(only_specials.tokens, (std::vector<std::string>{"[CLS]", "[SEP]"}));
}

TEST(ModelFolder, MissingVocabularyNamesTheFolder) {
  TempDir dir;
  try {
    Tokenizer::from_model_dir(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Model);
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos);
  }
  EXPECT_THROW(Tokenizer::from_model_dir(dir.path() / "absent"), Error);
}

TEST(ModelFolder, HonoursTokenizerConfigAndTokenizerJson) {
  TempDir dir;
  fs::copy_file(kData / "vocab" / "en_vocab.txt", dir.path() / "vocab.txt");
  write_file(dir.path() / "tokenizer_config.json",
             R"({"do_lower_case": false, "unk_token": {"content": "[UNK]"}, "tokenize_chinese_chars": true})");
  auto cased = Tokenizer::from_model_dir(dir.path());
  EXPECT_EQ(texts_of(cased->tokenize("Hello")), std::vector<std::string>{"[UNK]"});
  EXPECT_EQ(cased->special().cls, 101);
  EXPECT_EQ(cased->special().mask, 103);

  // The fast tokenizer's normaliser overrides tokenizer_config.json; its WordPiece limit is 100.
  write_file(dir.path() / "tokenizer.json",
             R"({"normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "max_input_chars_per_word": 100}})");
  auto uncased = Tokenizer::from_model_dir(dir.path());
  EXPECT_EQ(texts_of(uncased->tokenize("Héllo")), std::vector<std::string>{"hello"});
  EXPECT_EQ(texts_of(uncased->tokenize(std::string(101, '1'))), std::vector<std::string>{"[UNK]"});

  write_file(dir.path() / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
  EXPECT_THROW(Tokenizer::from_model_dir(dir.path()), Error);
}

class SentencePiece : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_shell("command -v spm_train >/dev/null 2>&1") != 0) GTEST_SKIP() << "spm_train is not installed";
    const std::string train = "spm_train --input=" + (kData / "tokenizer" / "english_sample.txt").string() +
                              " --model_prefix=" + (dir_.path() / "spiece").string() +
                              " --vocab_size=120 --model_type=unigram --character_coverage=1.0"
                              " --control_symbols=[CLS],[SEP],[MASK] --pad_id=3 --minloglevel=2 >/dev/null 2>&1";
    ASSERT_EQ(run_shell(train), 0) << train;
  }
  fs::path model() const { return dir_.path() / "spiece.model"; }

  TempDir dir_;
};

TEST_F(SentencePiece, MatchesSpmEncode) {
  std::vector<std::string> lines;
  std::istringstream sample(read_file(kData / "tokenizer" / "english_sample.txt"));
  for (std::string line; std::getline(sample, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::string joined;
  for (const auto& line : lines) joined += line + "\n";
  write_file(dir_.path() / "input.txt", joined);
  for (const char* format : {"id", "piece"}) {
    const std::string command = "spm_encode --model=" + model().string() + " --output_format=" + format + " < " +
                                (dir_.path() / "input.txt").string() + " > " +
                                (dir_.path() / (std::string(format) + ".txt")).string();
    ASSERT_EQ(run_shell(command), 0) << command;
  }
  std::istringstream ids(read_file(dir_.path() / "id.txt")), pieces(read_file(dir_.path() / "piece.txt"));

  auto tokenizer = Tokenizer::from_model_dir(dir_.path());
  for (const auto& line : lines) {
    std::string id_line, piece_line;
    ASSERT_TRUE(std::getline(ids, id_line) && std::getline(pieces, piece_line));
    std::ostringstream got_ids, got_pieces;
    const auto tokens = tokenizer->tokenize(line);
    for (size_t i = 0; i < tokens.size(); ++i) {
      got_ids << (i ? " " : "") << tokens[i].id;
      got_pieces << (i ? " " : "") << tokens[i].text;
    }
    EXPECT_EQ(got_ids.str(), id_line) << line;
    EXPECT_EQ(got_pieces.str(), piece_line) << line;
    expect_sane_offsets(tokens, line);
  }
}

TEST_F(SentencePiece, SpecialTokensComeFromTheModel) {
  const SentencePieceTokenizer tokenizer(model());
  EXPECT_EQ(tokenizer.special().unk, 0);
  EXPECT_EQ(tokenizer.special().pad, 3);
  EXPECT_EQ(tokenizer.special().cls, tokenizer.id_of("[CLS]"));
  EXPECT_EQ(tokenizer.special().sep, tokenizer.id_of("[SEP]"));
  EXPECT_EQ(tokenizer.special().mask, tokenizer.id_of("[MASK]"));
  EXPECT_EQ(tokenizer.token_of(tokenizer.special().cls), "[CLS]");
  EXPECT_FALSE(tokenizer.id_of("no such piece"));
  const Encoding encoding = encode(tokenizer, "the rain", std::string_view("the sun"), 64);
  EXPECT_EQ(encoding.ids.front(), tokenizer.special().cls);
  EXPECT_EQ(encoding.ids.back(), tokenizer.special().sep);
}

TEST_F(SentencePiece, LowerCasesFromConfigAndSurvivesInvalidUtf8) {
  write_file(dir_.path() / "tokenizer_config.json", R"({"do_lower_case": true})");
  auto tokenizer = Tokenizer::from_model_dir(dir_.path());
  const auto upper = tokenizer->tokenize("THE RAIN");
  const auto lower = tokenizer->tokenize("the rain");
  ASSERT_EQ(upper.size(), lower.size());
  for (size_t i = 0; i < upper.size(); ++i) {
    EXPECT_EQ(upper[i].id, lower[i].id);
    EXPECT_EQ(upper[i].begin, lower[i].begin);
    EXPECT_EQ(upper[i].end, lower[i].end);
  }
  for (const std::string bad : {"a\xff"
                                "b",
                                "\xe4\xb8", "the \xc0\xaf rain", "\xed\xa0\x80"}) {
    expect_sane_offsets(tokenizer->tokenize(bad), bad);
  }
}

TEST(TokenizeCli, ReproducesAFixtureFile) {
  TempDir dir;
  const fs::path output = dir.path() / "out.jsonl";
  const std::string command = std::string(NSPBERT_CLI) + " tokenize --vocab " +
                              (kData / "vocab" / "zh_vocab.txt").string() + " --lower --input " +
                              (kData / "tokenizer" / "zh_uncased.jsonl").string() + " --output " + output.string();
  ASSERT_EQ(run_shell(command), 0) << command;
  const auto expected = read_jsonl(kData / "tokenizer" / "zh_uncased.jsonl");
  const auto got = read_jsonl(output);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]["tokens"], expected[i]["tokens"]) << expected[i]["text"];
    EXPECT_EQ(got[i]["ids"], expected[i]["ids"]) << expected[i]["text"];
    EXPECT_EQ(got[i]["offsets"].size(), expected[i]["ids"].size());
  }
}

TEST(TokenizeCli, ReportsBadLinesAndCarriesOn) {
  TempDir dir;
  write_file(dir.path() / "in.jsonl",
             "{\"text\": \"a b\"}\n\n   \nnot json\n{\"txt\": 1}\n{\"text\": 5}\n"
             "{\"text\": \"a\xff\"}\n{\"text\": \"c\"}\n");
  const fs::path output = dir.path() / "out.jsonl";
  const std::string command = std::string(NSPBERT_CLI) + " tokenize --vocab " +
                              (kData / "vocab" / "en_vocab.txt").string() + " --input " +
                              (dir.path() / "in.jsonl").string() + " > " + output.string();
  EXPECT_EQ(run_shell(command), 1);
  const auto got = read_jsonl(output);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0]["tokens"], json({"a", "b"}));
  EXPECT_EQ(got[0]["offsets"], json::parse("[[0,1],[2,3]]"));
  for (size_t i = 1; i <= 4; ++i) EXPECT_TRUE(got[i].contains("error")) << got[i];
  EXPECT_EQ(got[1]["line"], 4);
  EXPECT_EQ(got[2]["line"], 5);
  EXPECT_EQ(got[3]["line"], 6);
  EXPECT_EQ(got[4]["line"], 7);
  EXPECT_EQ(got[5]["tokens"], json({"c"}));
}

TEST(TokenizeCli, EncodesPairsWithTruncation) {
  TempDir dir;
  write_file(dir.path() / "in.jsonl", R"({"text": "hello there", "b": "general kenobi"})"
                                      "\n");
  const fs::path output = dir.path() / "out.jsonl";
  const std::string command = std::string(NSPBERT_CLI) + " tokenize --vocab " +
                              (kData / "vocab" / "en_vocab.txt").string() + " --pair-field b --max-length 7 --input " +
                              (dir.path() / "in.jsonl").string() + " --output " + output.string();
  ASSERT_EQ(run_shell(command), 0);
  const auto got = read_jsonl(output);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["tokens"], json({"[CLS]", "hello", "there", "[SEP]", "general", "ken", "[SEP]"}));
  EXPECT_EQ(got[0]["type_ids"], json({0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(got[0]["truncated"], true);

  const std::string too_short = std::string(NSPBERT_CLI) + " tokenize --vocab " +
                                (kData / "vocab" / "en_vocab.txt").string() +
                                " --pair-field b --max-length 2 < /dev/null 2>/dev/null";
  EXPECT_EQ(run_shell(too_short), 2);
}

}  // namespace
}  // namespace nspbert
