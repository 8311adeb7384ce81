// Every finding of the fuzz targets (tests/fuzz, docs/fuzzing.md), replayed through the same public
// entry point with its minimised input from tests/data/fuzz_regressions: each must now be a
// one-line error naming the problem, not a crash or an escaped exception.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"
#include "engine/weights/safetensors_reader.h"
#include "engine/weights/weight_store.h"
#include "models/config_reader.h"
#include "models/model.h"
#include "tests/cli_test_support.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using nspbert::Error;
using nspbert::test_support::CliResult;
using nspbert::test_support::quote;
using nspbert::test_support::slurp;
using nspbert::test_support::write_file;

const fs::path kInputs = fs::path(NSPBERT_TEST_DATA) / "fuzz_regressions";
const std::string kZh = (fs::path(NSPBERT_TEST_DATA) / "fixtures/models/bert-zh-tiny").string();

// The message of the nspbert::Error that `body` throws; fails the test when it throws none.
template <typename Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no nspbert::Error thrown";
  return "";
}

void expect_one_line(const std::string& message) {
  EXPECT_EQ(message.find_first_of("\n\r"), std::string::npos) << message;
}

std::vector<nspbert::io::JsonlItem> read_jsonl(const std::string& text) {
  std::istringstream in(text);
  nspbert::io::JsonlReader reader(in, "regression.jsonl");
  std::vector<nspbert::io::JsonlItem> all, chunk;
  while (reader.read_chunk(2, chunk)) all.insert(all.end(), chunk.begin(), chunk.end());
  return all;
}

CliResult run_cli(const std::string& args) {
  const fs::path dir = fs::temp_directory_path() / ("nspbert_fuzz_regression_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const CliResult r = nspbert::test_support::run_cli(dir, args);
  fs::remove_all(dir);
  return r;
}

// jsonl_fuzz: nlohmann reports numbers beyond double ("1e400") as out_of_range, not parse_error;
// the exception escaped parse_jsonl_line and ended a whole classify/eval run as "internal error".
TEST(FuzzRegression, JsonlNumberOverflowIsALineError) {
  const std::string input = slurp(kInputs / "jsonl_number_overflow.jsonl");
  ASSERT_EQ(input, "1e400");
  const auto item = nspbert::io::parse_jsonl_line(7, input);
  EXPECT_EQ(item.line, 7);
  EXPECT_EQ(item.error, "not valid JSON: number overflow parsing '1e400'");

  const auto items = read_jsonl("{\"text\": \"好\"}\n" + input + "\n{\"text\": \"好\", \"score\": -1e400}\n");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(items[0].error.empty());
  EXPECT_EQ(items[1].error, "not valid JSON: number overflow parsing '1e400'");
  EXPECT_EQ(items[2].error, "not valid JSON: number overflow parsing '-1e400'");
}

TEST(FuzzRegression, JsonlNumberOverflowFailsOnlyItsLineInClassify) {
  const fs::path input = fs::temp_directory_path() / ("nspbert_overflow_" + std::to_string(::getpid()) + ".jsonl");
  write_file(input, "{\"text\": \"梅西进球\", \"weight\": 1e400}\n{\"text\": \"股市大涨\"}\n");
  const CliResult r = run_cli("classify --model " + quote(kZh) +
                              " --template '这是一则{label}新闻' --labels 体育,财经 --input " + quote(input.string()));
  fs::remove(input);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(nlohmann::json::parse(first),
            nlohmann::json::parse(R"({"line": 1, "error": "not valid JSON: number overflow parsing '1e400'"})"));
  EXPECT_TRUE(nlohmann::json::parse(second).contains("scores")) << second;
}

// config_fuzz: a string value with a newline (here model_type "\n") was quoted raw, so the error
// printed as two lines.
TEST(FuzzRegression, ConfigValueWithNewlineGivesAOneLineError) {
  const std::string input = slurp(kInputs / "config_newline_in_value.json");
  const std::string message =
      error_of([&] { nspbert::read_encoder_spec(nspbert::ConfigReader::from_text(input, "config.json")); });
  EXPECT_EQ(message, "config.json: field 'model_type' is '\\x0a'; supported: bert, megatron-bert, roformer, albert");
}

// Deep nesting (200000 levels, 400 kB): nlohmann parses it without recursion, but quoting the
// value in a message (dump) or copying it recursed once per level and overflowed the stack
// (config_fuzz, safetensors_fuzz under ASan; a segfault in the Release CLI).
TEST(FuzzRegression, DeeplyNestedConfigIsRefused) {
  const fs::path file = kInputs / "config_deep_nesting.json";
  const std::string message = error_of([&] { nspbert::read_encoder_spec(nspbert::ConfigReader::from_file(file)); });
  EXPECT_EQ(message, file.string() + ": JSON nested deeper than 100 levels");
}

TEST(FuzzRegression, DeeplyNestedSafetensorsHeaderIsRefused) {
  const fs::path file = kInputs / "safetensors_deep_nesting.safetensors";
  const std::string bytes = slurp(file);
  const std::string message = error_of([&] {
    nspbert::weights::parse_safetensors(std::as_bytes(std::span(bytes.data(), bytes.size())), "deep.safetensors");
  });
  EXPECT_EQ(message, "deep.safetensors: header is JSON nested deeper than 100 levels");
  const std::string through_store = error_of([&] { nspbert::WeightStore::open_file(file); });
  EXPECT_EQ(through_store, file.string() + ": header is JSON nested deeper than 100 levels");
  expect_one_line(through_store);
}

TEST(FuzzRegression, DeeplyNestedJsonlLineIsALineError) {
  const std::string input = slurp(kInputs / "jsonl_deep_nesting.jsonl");
  const auto items = read_jsonl("{\"text\": \"好\", \"id\": [[1]]}\n" + input);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(items[0].error.empty()) << items[0].error;
  EXPECT_EQ(items[1].line, 2);
  EXPECT_EQ(items[1].error, "JSON nested deeper than 100 levels");

  // The crash itself was in classify echoing the line's id; now that line fails alone.
  const CliResult r =
      run_cli("classify --model " + quote(kZh) + " --template '这是一则{label}新闻' --labels 体育,财经 --input " +
              quote((kInputs / "jsonl_deep_nesting.jsonl").string()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json::parse(R"({"line": 1, "error": "JSON nested deeper than 100 levels"})"));
}

// Found by reading the code after the fuzzing: the tokenizer.json normalizer walk recursed once per
// nesting level, so a deep "Sequence" chain segfaulted `nspbert tokenize`.
TEST(FuzzRegression, DeeplyNestedTokenizerJsonIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("nspbert_deep_tokenizer_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(kZh)) fs::copy_file(entry.path(), dir / entry.path().filename());
  const int levels = 200000;
  std::string text = "{\"normalizer\":";
  for (int i = 0; i < levels; ++i) text += "{\"type\":\"Sequence\",\"normalizers\":[";
  text += "{\"type\":\"BertNormalizer\"}";
  for (int i = 0; i < levels; ++i) text += "]}";
  text += "}";
  std::FILE* f = std::fopen((dir / "tokenizer.json").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  const std::string message = error_of([&] { nspbert::Tokenizer::from_model_dir(dir); });
  EXPECT_EQ(message, (dir / "tokenizer.json").string() + " nests deeper than 100 levels");
  expect_one_line(message);
  fs::remove_all(dir);
}

}  // namespace
