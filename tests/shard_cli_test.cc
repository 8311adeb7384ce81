// --shard I/N and nspbert merge through the built CLI: the shards of every N, merged, are byte for
// byte the unsharded run's output (the reference is always the unsharded run of the same command);
// merge refuses shards that miss or repeat a line and writes nothing then; a shard resumes alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli_test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace nspbert::test_support;

const std::string& kZh = kBertZhTiny;

class ShardCli : public nspbert::test_support::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    // 23 TNEWS lines with blank lines, invalid JSON, a line that is not an object and one without
    // the text field among them; the input ends without a blank line.
    const std::vector<std::string> tnews = lines_of(slurp(kTestData / "fewclue/tnews.jsonl"));
    std::string input;
    for (size_t i = 0; i < 23; ++i) {
      input += tnews[i % tnews.size()] + "\n";
      if (i % 5 == 1) input += "\n   \n";
      if (i == 6) input += "{oops\n";
      if (i == 11) input += "[1, 2]\n";
      if (i == 15) input += "{\"id\": 99}\n";
    }
    input_ = dir_ / "input.jsonl";
    write_file(input_, input);
  }

  std::string path(const std::string& name) const { return quote((dir_ / name).string()); }

  // Runs `command` on the input; the output file's bytes (exit code 0 or 1: some lines are bad).
  std::string output_of(const std::string& command, const std::string& name) const {
    const CliResult r = run_cli(dir_, command + " --input " + quote(input_.string()) + " --output " + path(name));
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << command << "\n" << r.err;
    return slurp(dir_ / name);
  }

  // Shards 0..n-1 of `command`, then merged; returns the merged bytes.
  std::string sharded_and_merged(const std::string& command, int n, const std::string& merge_flags = "") const {
    std::string shards;
    std::set<int64_t> seen;
    for (int i = 0; i < n; ++i) {
      const std::string name = "shard_" + std::to_string(i) + "_of_" + std::to_string(n) + ".jsonl";
      const std::string out = output_of(command + " --shard " + std::to_string(i) + "/" + std::to_string(n), name);
      for (const std::string& line : lines_of(out)) {
        const json j = json::parse(line);
        EXPECT_TRUE(j.contains("input_line")) << line;
        EXPECT_TRUE(seen.insert(j["input_line"].get<int64_t>()).second) << "line answered by two shards: " << line;
      }
      shards += " " + path(name);
    }
    const CliResult merged = run_cli(
        dir_, "merge --input " + quote(input_.string()) + " --output " + path("merged.jsonl") + merge_flags + shards);
    EXPECT_EQ(merged.exit_code, 0) << merged.err;
    EXPECT_EQ(merged.err, "");
    return slurp(dir_ / "merged.jsonl");
  }

  fs::path input_;
};

}  // namespace

TEST_F(ShardCli, ShardsMergedAreTheUnshardedOutputForEveryShardCount) {
  const std::string commands[] = {
      "score --model " + quote(kZh) + " --task " + quote((kTaskSpecs / "tnews.json").string()) + " --chunk-size 3",
      "embed --model " + quote(kZh) + " --field sentence --chunk-size 4",
      "tokenize --model " + quote(kZh) + " --field sentence",
      "classify --model " + quote(kZh) + " --template '这是{label}' --labels 体育,财经 --text-field sentence",
  };
  for (const std::string& command : commands) {
    SCOPED_TRACE(command.substr(0, 12));
    const std::string want = output_of(command, "unsharded.jsonl");
    ASSERT_EQ(lines_of(want).size(), 26u);  // 23 lines + 3 bad ones, no blank ones
    const std::string numbered = output_of(command + " --with-line-numbers", "numbered.jsonl");
    for (int n : {1, 2, 3, 7}) {
      SCOPED_TRACE("N = " + std::to_string(n));
      EXPECT_EQ(sharded_and_merged(command, n), want);
      if (n == 3) {
        EXPECT_EQ(sharded_and_merged(command, n, " --with-line-numbers"), numbered);
      }
    }
  }
}

TEST_F(ShardCli, NumberedLinesCarryTheGlobalInputLine) {
  const std::string out = output_of("tokenize --model " + quote(kZh) + " --field sentence --shard 1/3", "s.jsonl");
  // The non-blank lines of the input, by physical number; shard 1/3 takes the 2nd, 5th, 8th, ...
  std::vector<int64_t> non_blank;
  const std::vector<std::string> input = lines_of(slurp(input_));
  for (size_t i = 0; i < input.size(); ++i)
    if (input[i].find_first_not_of(" ") != std::string::npos) non_blank.push_back(static_cast<int64_t>(i + 1));
  std::vector<int64_t> want;
  for (size_t k = 1; k < non_blank.size(); k += 3) want.push_back(non_blank[k]);
  std::vector<int64_t> got;
  for (const std::string& line : lines_of(out)) {
    ASSERT_TRUE(line.starts_with("{\"input_line\":")) << line;
    got.push_back(json::parse(line)["input_line"].get<int64_t>());
  }
  EXPECT_EQ(got, want);
}

TEST_F(ShardCli, MergeRefusesMissingAndRepeatedLinesAndWritesNothing) {
  const std::string command = "embed --model " + quote(kZh) + " --field sentence";
  for (int i = 0; i < 3; ++i)
    output_of(command + " --shard " + std::to_string(i) + "/3", "s" + std::to_string(i) + ".jsonl");
  const std::vector<std::string> input = lines_of(slurp(input_));
  const std::string last = std::to_string(input.size());  // the input's last line is not blank
  // The shard holding the last line, without it.
  std::string cut;
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::string> lines = lines_of(slurp(dir_ / ("s" + std::to_string(i) + ".jsonl")));
    if (json::parse(lines.back())["input_line"] != input.size()) continue;
    cut = "s" + std::to_string(i) + ".jsonl";
    std::string text;
    for (size_t k = 0; k + 1 < lines.size(); ++k) text += lines[k] + "\n";
    write_file(dir_ / "cut.jsonl", text);
  }
  ASSERT_FALSE(cut.empty());
  const std::string merge = "merge --input " + quote(input_.string()) + " --output " + path("merged.jsonl");
  const struct {
    std::string shards;
    std::vector<std::string> says;
  } cases[] = {
      {path("s0.jsonl") + " " + path("s1.jsonl"), {"missing input lines", "nothing was written"}},
      {path("s0.jsonl") + " " + path("s1.jsonl") + " " + path("s2.jsonl") + " " + path("s1.jsonl"), {"answered twice"}},
      {[&] {
         std::string s;
         for (int i = 0; i < 3; ++i)
           if ("s" + std::to_string(i) + ".jsonl" != cut) s += path("s" + std::to_string(i) + ".jsonl") + " ";
         return s + path("cut.jsonl");
       }(),
       {"missing input lines " + last + ";"}},
      {path("s0.jsonl") + " " + path("s1.jsonl") + " " + quote(input_.string()), {"no input line number"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.shards);
    const CliResult r = run_cli(dir_, merge + " " + c.shards);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("nspbert: error: ")) << r.err;
    for (const std::string& s : c.says) EXPECT_NE(r.err.find(s), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "merged.jsonl"));
    EXPECT_FALSE(fs::exists(dir_ / "merged.jsonl.partial"));
  }
}

TEST_F(ShardCli, AShardResumesOnItsOwn) {
  const std::string command = "score --model " + quote(kZh) + " --task " + quote((kTaskSpecs / "tnews.json").string()) +
                              " --shard 2/3 --input " + quote(input_.string()) + " --output ";
  ASSERT_LE(run_cli(dir_, command + path("whole.jsonl")).exit_code, 1);
  const std::string want = slurp(dir_ / "whole.jsonl");
  ASSERT_GE(lines_of(want).size(), 5u);
  // What a killed run leaves: three complete lines and part of the fourth.
  size_t cut = 0;
  for (int i = 0; i < 3; ++i) cut = want.find('\n', cut) + 1;
  write_file(dir_ / "resumed.jsonl.partial", want.substr(0, cut + 9));
  ASSERT_LE(run_cli(dir_, command + path("resumed.jsonl") + " --resume").exit_code, 1);
  EXPECT_EQ(slurp(dir_ / "resumed.jsonl"), want);
}

TEST_F(ShardCli, FlagsThatCannotShard) {
  const std::string zh = " --model " + quote(kZh);
  const struct {
    std::string args;
    std::string says;
  } cases[] = {
      {"embed" + zh + " --shard 3/3", "--shard"},
      {"embed" + zh + " --shard 1", "--shard"},
      {"embed" + zh + " --shard 0/3 --format json", "--format jsonl"},
      {"score" + zh + " --task " + quote((kTaskSpecs / "ocnli.json").string()) + " --shard 0/2",
       "--thresholds"},                                // equal-size bins need every line's score
      {"merge --output " + path("m.jsonl"), "SHARD"},  // no shard outputs
  };
  for (const auto& c : cases) {
    const CliResult r = run_cli(dir_, c.args + " --input " + quote(input_.string()));
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "");
  }
}
