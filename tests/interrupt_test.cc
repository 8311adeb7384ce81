// SIGINT/SIGTERM in the middle of a long stream, through the built nspbert: the run finishes the
// chunk in flight, leaves only complete lines (in FILE.partial with --output), says so in one
// stderr line and exits 5; --resume then completes the file to exactly what an uninterrupted run
// writes. The runs are started with posix_spawn and signalled by pid once output has appeared;
// every wait polls with a generous deadline, so a loaded machine slows the test but cannot fail it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli_test_support.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nspbert::test_support::lines_of;
using nspbert::test_support::slurp;
using nspbert::test_support::write_file;

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kTasks = kData.parent_path().parent_path() / "tools/tasks";
const std::string kZh = (kData / "fixtures/models/bert-zh-tiny").string();
constexpr auto kDeadline = std::chrono::minutes(5);
constexpr int kInterrupted = 5;

size_t newlines(const fs::path& p) {
  const std::string text = slurp(p);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class Interrupt : public nspbert::test_support::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    input_ = dir_ / "input.jsonl";
    write_input(input_, kLines);
  }

  // The TNEWS samples repeated, each line with its own id so a lost, repeated or reordered line shows.
  static void write_input(const fs::path& path, int lines) {
    const std::vector<std::string> tnews = lines_of(slurp(kData / "fewclue/tnews.jsonl"));
    std::string input;
    for (int i = 0; i < lines; ++i) {
      json line = json::parse(tnews[static_cast<size_t>(i) % tnews.size()]);
      line["id"] = i;
      input += line.dump() + "\n";
      if (i % 50 == 7) input += "\n";  // blank lines are skipped, never counted
    }
    write_file(path, input);
  }

  // Starts nspbert with `args`, standard input from /dev/null, standard output and error to files.
  pid_t start(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) const {
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&files, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The test may run where SIGINT is ignored (a background job); the child gets default dispositions.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::vector<std::string> argv_strings{NSPBERT_CLI};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int failed = posix_spawn(&pid, NSPBERT_CLI, &files, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attributes);
    EXPECT_EQ(failed, 0) << "posix_spawn " << NSPBERT_CLI;
    return failed == 0 ? pid : -1;
  }

  // The exit code, or -1 (and the process killed) when it does not end before the deadline.
  static int wait_for_exit(pid_t pid) {
    const auto give_up = std::chrono::steady_clock::now() + kDeadline;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "nspbert did not exit within the deadline";
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFSIGNALED(status)) ADD_FAILURE() << "nspbert was killed by signal " << WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Waits until `file` holds at least `lines` complete lines while `pid` still runs.
  static bool wait_for_lines(pid_t pid, const fs::path& file, size_t lines) {
    const auto give_up = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < give_up) {
      if (newlines(file) >= lines) return true;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "nspbert ended before writing " << lines << " lines: make the input longer";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ADD_FAILURE() << "no " << lines << " lines in " << file << " before the deadline";
    return false;
  }

  // Runs to completion and returns the exit code.
  int run(const std::vector<std::string>& args) const {
    std::string words;
    for (const std::string& a : args) words += " " + nspbert::test_support::quote(a);
    return nspbert::test_support::run_cli(dir_, words).exit_code;
  }

  // The lines of an interrupted output: every one complete, and the same as the uninterrupted run's.
  static void expect_complete_prefix(const std::string& partial, const std::vector<std::string>& reference) {
    ASSERT_FALSE(partial.empty());
    EXPECT_EQ(partial.back(), '\n') << "the last line is torn";
    const std::vector<std::string> got = lines_of(partial);
    ASSERT_LT(got.size(), reference.size()) << "the run was not interrupted midway";
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], reference[i]) << "line " << i + 1;
  }

  std::vector<std::string> score_args(const fs::path& output) const {
    std::vector<std::string> args{
        "score",         "--model",      kZh, "--task", (kTasks / "tnews.json").string(), "--input",
        input_.string(), "--chunk-size", "2"};
    if (!output.empty()) {
      args.push_back("--output");
      args.push_back(output.string());
    }
    return args;
  }

  // The uninterrupted run's output lines; `id_field` is where an output line carries the input's id.
  std::vector<std::string> reference(std::vector<std::string> args, int lines_in = kLines,
                                     const std::string& id_field = "id") const {
    EXPECT_EQ(run(args), 0) << slurp(dir_ / "stderr");
    const fs::path output = args[std::find(args.begin(), args.end(), "--output") - args.begin() + 1];
    const std::vector<std::string> lines = lines_of(slurp(output));
    EXPECT_EQ(lines.size(), static_cast<size_t>(lines_in));
    if (!id_field.empty()) {
      for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(json::parse(lines[i])[id_field], i);
    }
    return lines;
  }

  // Interrupts a run writing `output` with `signals` once it has written some lines, checks what it
  // left, resumes it and compares the finished file with `want`.
  void interrupt_and_resume(std::vector<std::string> args, const fs::path& output, const std::vector<int>& signals,
                            const std::vector<std::string>& want) {
    const fs::path partial = output.string() + ".partial";
    const pid_t pid = start(args, dir_ / "stdout", dir_ / "stderr");
    ASSERT_GT(pid, 0);
    if (!wait_for_lines(pid, partial, 6)) {
      ::kill(pid, SIGKILL);
      wait_for_exit(pid);
      return;
    }
    for (int s : signals) ::kill(pid, s);
    EXPECT_EQ(wait_for_exit(pid), kInterrupted);
    const std::string err = slurp(dir_ / "stderr");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_FALSE(fs::exists(output)) << "an interrupted output must not look finished";
    ASSERT_TRUE(fs::exists(partial));
    if (signals.size() == 1) {
      // One signal: the chunk in flight was finished and flushed, and stderr says how far it got.
      const std::string kept = slurp(partial);
      expect_complete_prefix(kept, want);
      EXPECT_EQ(err, "nspbert: interrupted after " + std::to_string(lines_of(kept).size()) +
                         " lines; rerun with --resume to continue\n");
    }
    args.push_back("--resume");
    ASSERT_EQ(run(args), 0) << slurp(dir_ / "stderr");
    EXPECT_EQ(lines_of(slurp(output)), want);
    EXPECT_FALSE(fs::exists(partial));
  }

  static constexpr int kLines = 400;
  static constexpr int kLongLines = 5000;
  fs::path input_;
};

}  // namespace

TEST_F(Interrupt, ScoreStoppedBySigtermOrSigintResumesToTheUninterruptedResult) {
  const std::vector<std::string> want = reference(score_args(dir_ / "reference.jsonl"));
  ASSERT_EQ(want.size(), static_cast<size_t>(kLines));
  {
    SCOPED_TRACE("SIGTERM");
    interrupt_and_resume(score_args(dir_ / "term.jsonl"), dir_ / "term.jsonl", {SIGTERM}, want);
  }
  {
    SCOPED_TRACE("SIGINT");
    interrupt_and_resume(score_args(dir_ / "int.jsonl"), dir_ / "int.jsonl", {SIGINT}, want);
  }
  {
    // The second signal ends the run at once; a torn last line is cut on resume.
    SCOPED_TRACE("SIGTERM then SIGINT");
    interrupt_and_resume(score_args(dir_ / "twice.jsonl"), dir_ / "twice.jsonl", {SIGTERM, SIGINT}, want);
  }
}

TEST_F(Interrupt, ClassifyInputStoppedBySigintResumesToTheUninterruptedResult) {
  auto args = [&](const fs::path& output) {
    return std::vector<std::string>{"classify",
                                    "--model",
                                    kZh,
                                    "--template",
                                    "这是一则{label}新闻",
                                    "--labels",
                                    "故事,文化,娱乐,体育,财经,房产,汽车,教育,科技,军事",
                                    "--text-field",
                                    "sentence",
                                    "--chunk-size",
                                    "2",
                                    "--input",
                                    input_.string(),
                                    "--output",
                                    output.string()};
  };
  const std::vector<std::string> want = reference(args(dir_ / "reference.jsonl"));
  interrupt_and_resume(args(dir_ / "int.jsonl"), dir_ / "int.jsonl", {SIGINT}, want);
}

TEST_F(Interrupt, ScoreToStandardOutputStopsAfterCompleteLines) {
  const std::vector<std::string> want = reference(score_args(dir_ / "reference.jsonl"));
  const fs::path out = dir_ / "interrupted.out", err = dir_ / "interrupted.err";
  const pid_t pid = start(score_args(""), out, err);
  ASSERT_GT(pid, 0);
  if (!wait_for_lines(pid, out, 6)) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid);
    return;
  }
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_for_exit(pid), kInterrupted);
  const std::string kept = slurp(out);
  expect_complete_prefix(kept, want);
  EXPECT_EQ(slurp(err),
            "nspbert: interrupted after " + std::to_string(lines_of(kept).size()) +
                " lines; they are complete on standard output (with --output FILE, --resume continues a run)\n");
}

TEST_F(Interrupt, TokenizeResumesAPartialOutputWithATornLine) {
  const std::string vocab = (kData / "vocab/zh_vocab.txt").string();
  const fs::path full = dir_ / "full.jsonl", resumed = dir_ / "resumed.jsonl";
  ASSERT_EQ(
      run({"tokenize", "--vocab", vocab, "--field", "sentence", "--input", input_.string(), "--output", full.string()}),
      0)
      << slurp(dir_ / "stderr");
  const std::string want = slurp(full);
  ASSERT_EQ(lines_of(want).size(), static_cast<size_t>(kLines));
  EXPECT_FALSE(fs::exists(full.string() + ".partial"));
  // What a run stopped by a second signal can leave: 30 complete lines and half of the 31st.
  size_t cut = 0;
  for (int i = 0; i < 30; ++i) cut = want.find('\n', cut) + 1;
  write_file(resumed.string() + ".partial", want.substr(0, cut + 15));
  ASSERT_EQ(run({"tokenize", "--vocab", vocab, "--field", "sentence", "--input", input_.string(), "--output",
                 resumed.string(), "--resume"}),
            0)
      << slurp(dir_ / "stderr");
  EXPECT_EQ(slurp(resumed), want);
  EXPECT_FALSE(fs::exists(resumed.string() + ".partial"));
}

// embed and pair-score run a chunk in well under a millisecond on the tiny fixture: a long input and
// one line per chunk keep them running when the signal comes.
TEST_F(Interrupt, EmbedStoppedBySigintOrTwoSignalsResumesToTheUninterruptedResult) {
  const fs::path long_input = dir_ / "long.jsonl";
  write_input(long_input, kLongLines);
  auto args = [&](const fs::path& output) {
    return std::vector<std::string>{"embed",        "--model", kZh,       "--field",           "sentence",
                                    "--chunk-size", "1",       "--input", long_input.string(), "--output",
                                    output.string()};
  };
  // embed echoes the text, not the id: the lines are checked against the uninterrupted run only.
  const std::vector<std::string> want = reference(args(dir_ / "reference.jsonl"), kLongLines, "");
  {
    SCOPED_TRACE("SIGINT");
    interrupt_and_resume(args(dir_ / "int.jsonl"), dir_ / "int.jsonl", {SIGINT}, want);
  }
  {
    SCOPED_TRACE("SIGTERM then SIGINT");
    interrupt_and_resume(args(dir_ / "twice.jsonl"), dir_ / "twice.jsonl", {SIGTERM, SIGINT}, want);
  }
}

TEST_F(Interrupt, PairScoreStoppedBySigtermResumesToTheUninterruptedResult) {
  const fs::path long_input = dir_ / "long.jsonl", model = dir_ / "cross_encoder";
  write_input(long_input, kLongLines);
  const std::vector<float> weight(2 * 32, 0.01f), bias{0.1f, -0.1f};  // bert-zh-tiny: hidden size 32
  nspbert::test_support::add_classifier(kZh, model, weight, bias);
  auto args = [&](const fs::path& output) {
    return std::vector<std::string>{"pair-score",        "--model",  model.string(), "--a-field", "sentence",
                                    "--b-field",         "keywords", "--chunk-size", "1",         "--input",
                                    long_input.string(), "--output", output.string()};
  };
  const std::vector<std::string> want = reference(args(dir_ / "reference.jsonl"), kLongLines, "");
  interrupt_and_resume(args(dir_ / "term.jsonl"), dir_ / "term.jsonl", {SIGTERM}, want);
}
