#pragma once
// Shared by the CLI tests: run build/nspbert through the shell and capture what it printed.
// NSPBERT_CLI is the binary's path (CMakeLists.txt).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace nspbert::test_support {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The test data (tests/data), the task specs (tools/tasks) and the random-weight BERT fixture.
inline const std::filesystem::path kTestData = NSPBERT_TEST_DATA;
inline const std::filesystem::path kTaskSpecs = kTestData.parent_path().parent_path() / "tools/tasks";
inline const std::string kBertZhTiny = (kTestData / "fixtures/models/bert-zh-tiny").string();

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Standard input from an existing path (a folder, to test read errors) instead of text.
struct StdinFile {
  std::filesystem::path path;
};

// Runs `NSPBERT_CLI args` through the shell (so `args` is shell words: quote() paths) with
// `stdin_text` on standard input; standard output and error go through files in `dir`.
inline CliResult run_cli(const std::filesystem::path& dir, const std::string& args, const StdinFile& stdin_file) {
  const std::filesystem::path out = dir / "stdout", err = dir / "stderr";
  const std::string command = std::string(NSPBERT_CLI) + " " + args + " <" + quote(stdin_file.path.string()) + " >" +
                              quote(out.string()) + " 2>" + quote(err.string());
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline CliResult run_cli(const std::filesystem::path& dir, const std::string& args,
                         const std::string& stdin_text = "") {
  write_file(dir / "stdin", stdin_text);
  return run_cli(dir, args, StdinFile{dir / "stdin"});
}

// Copies a fixture model and appends classifier.weight [C, H] / classifier.bias [C] (F32) to its
// safetensors file, written here by hand: 8-byte header length, JSON header, data.
inline void add_classifier(const std::filesystem::path& from, const std::filesystem::path& to,
                           const std::vector<float>& weight, const std::vector<float>& bias) {
  std::filesystem::create_directories(to);
  for (const char* f : {"config.json", "vocab.txt", "tokenizer_config.json"})
    std::filesystem::copy_file(from / f, to / f);
  const std::string bytes = slurp(from / "model.safetensors");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_len));
  std::string data = bytes.substr(8 + header_len);
  while (data.size() % 4) data += '\0';
  const int64_t C = static_cast<int64_t>(bias.size()), H = static_cast<int64_t>(weight.size()) / C;
  const auto append = [&](const std::string& name, const std::vector<float>& values, std::vector<int64_t> shape) {
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
  };
  append("classifier.weight", weight, {C, H});
  append("classifier.bias", bias, {C});
  std::string header_text = header.dump();
  while (header_text.size() % 8) header_text += ' ';
  const uint64_t new_len = header_text.size();
  std::string out(reinterpret_cast<const char*>(&new_len), 8);
  write_file(to / "model.safetensors", out + header_text + data);
}

// A fresh folder per test, dir_ = <tmp>/nspbert_<suite>_<pid>_<test>, removed afterwards.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("nspbert_" + std::string(info->test_suite_name()) + "_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

}  // namespace nspbert::test_support
