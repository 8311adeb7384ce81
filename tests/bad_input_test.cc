// The rows of docs/bad-input.md that no other test covers, end to end through the built nspbert:
// every row exits with its documented code and exactly one stderr line naming the problem, and a
// stream keeps one output line per non-blank input line, in input order. Rows proven elsewhere
// (the safetensors/.bin reader sweeps, missing tensors, bad config fields, invalid JSON lines...)
// are named in the matrix instead of repeated here.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli_test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nspbert::test_support::CliResult;
using nspbert::test_support::quote;
using nspbert::test_support::run_cli;
using nspbert::test_support::slurp;
using nspbert::test_support::StdinFile;
using nspbert::test_support::write_file;

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kTasks = kData.parent_path().parent_path() / "tools/tasks";
const fs::path kZh = kData / "fixtures/models/bert-zh-tiny";

class BadInput : public nspbert::test_support::ScratchDirTest {
 protected:
  fs::path path(const std::string& name) const { return dir_ / name; }

  // A copy of the bert-zh-tiny fixture folder, changed by `edit`.
  fs::path model_copy(const std::string& name, const std::function<void(const fs::path&)>& edit) const {
    const fs::path copy = dir_ / name;
    fs::create_directories(copy);
    for (const auto& entry : fs::directory_iterator(kZh)) fs::copy_file(entry.path(), copy / entry.path().filename());
    edit(copy);
    return copy;
  }
};

// Exactly one stderr line, starting "nspbert: " and naming the problem; the documented code.
void expect_error(const CliResult& r, int exit_code, const std::vector<std::string>& fragments,
                  const std::string& what) {
  EXPECT_EQ(r.exit_code, exit_code) << what << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("nspbert: ", 0), 0u) << what << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << "\n" << r.err;
  for (const std::string& f : fragments)
    EXPECT_NE(r.err.find(f), std::string::npos) << what << ": no '" << f << "' in\n" << r.err;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

json read_json(const fs::path& p) { return json::parse(slurp(p)); }
void write_json(const fs::path& p, const json& value) { write_file(p, value.dump(2)); }

void edit_config(const fs::path& model, const std::function<void(json&)>& edit) {
  json config = read_json(model / "config.json");
  edit(config);
  write_json(model / "config.json", config);
}

// Rewrites a safetensors header in place; the data section stays as it was.
void edit_safetensors_header(const fs::path& file, const std::function<void(json&)>& edit) {
  const std::string bytes = slurp(file);
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  json header = json::parse(bytes.substr(8, length));
  edit(header);
  const std::string text = header.dump();
  const uint64_t new_length = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &new_length, 8);
  write_file(file, out + text + bytes.substr(8 + length));
}

std::string classify_on(const fs::path& model) {
  return "classify --model " + quote(model.string()) + " --template '这是{label}' --labels 体育,财经 梅西";
}

}  // namespace

TEST_F(BadInput, ModelFoldersWhoseFilesDisagreeOrAreMissing) {
  const std::string query = "bert.encoder.layer.0.attention.self.query.weight";
  struct Case {
    std::string name;
    std::function<void(const fs::path&)> edit;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases = {
      {"no_config", [](const fs::path& m) { fs::remove(m / "config.json"); }, {"config.json", "cannot read"}},
      {"config_not_json",
       [](const fs::path& m) { write_file(m / "config.json", "{\"hidden_size\": 32,"); },
       {"config.json", "not valid JSON"}},
      {"config_hidden_size_disagrees",
       [](const fs::path& m) { edit_config(m, [](json& c) { c["hidden_size"] = 64; }); },
       {"bert.embeddings.word_embeddings.weight", "[21128, 32]", "expected [21128, 64]"}},
      {"config_more_layers",
       [](const fs::path& m) { edit_config(m, [](json& c) { c["num_hidden_layers"] = 3; }); },
       {"missing tensor 'bert.encoder.layer.2."}},
      {"config_vocab_size_disagrees",
       [](const fs::path& m) { edit_config(m, [](json& c) { c["vocab_size"] = 30000; }); },
       {"word_embeddings", "expected [30000, 32]"}},
      {"vocabulary_larger_than_config",
       [](const fs::path& m) { write_file(m / "vocab.txt", slurp(m / "vocab.txt") + "\nqqqzzz\n"); },
       {"21129 tokens", "vocab_size is 21128"}},
      {"no_vocabulary", [](const fs::path& m) { fs::remove(m / "vocab.txt"); }, {"no vocabulary", "vocab.txt"}},
      {"empty_vocabulary", [](const fs::path& m) { write_file(m / "vocab.txt", ""); }, {"vocab.txt", "empty"}},
      {"vocabulary_without_cls_sep",
       [](const fs::path& m) {
         std::string kept;
         for (const std::string& token : lines_of(slurp(m / "vocab.txt")))
           if (token != "[CLS]" && token != "[SEP]") kept += token + "\n";
         write_file(m / "vocab.txt", kept);
       },
       {"vocab.txt has no [CLS]/[SEP]"}},
      {"no_weights",
       [](const fs::path& m) { fs::remove(m / "model.safetensors"); },
       {"has no weights", "model.safetensors", "pytorch_model.bin"}},
      {"config_is_a_folder",
       [](const fs::path& m) {
         fs::remove(m / "config.json");
         fs::create_directory(m / "config.json");
       },
       {"config.json", "is a directory"}},
      {"tokenizer_config_is_a_folder",
       [](const fs::path& m) {
         fs::remove(m / "tokenizer_config.json");
         fs::create_directory(m / "tokenizer_config.json");
       },
       {"tokenizer_config.json", "is a directory"}},
      {"shard_index_is_a_folder",
       [](const fs::path& m) {
         fs::remove(m / "model.safetensors");
         fs::create_directory(m / "model.safetensors.index.json");
       },
       {"model.safetensors.index.json", "is a directory"}},
      {"weights_are_a_folder",
       [](const fs::path& m) {
         fs::remove(m / "model.safetensors");
         fs::create_directory(m / "model.safetensors");
       },
       {"model.safetensors", "not a regular file"}},
      {"shard_outside_the_folder",
       [](const fs::path& m) {
         fs::remove(m / "model.safetensors");
         write_file(m / "model.safetensors.index.json", R"({"weight_map": {"a": "../../../etc/passwd"}})");
       },
       {"model.safetensors.index.json", "outside the model folder"}},
      {"missing_tensor",
       [&](const fs::path& m) { edit_safetensors_header(m / "model.safetensors", [&](json& h) { h.erase(query); }); },
       {"missing tensor '" + query + "'"}},
  };
  for (const Case& c : cases) {
    const fs::path model = model_copy(c.name, c.edit);
    const CliResult r = run_cli(dir_, classify_on(model));
    std::vector<std::string> says = c.says;
    if (c.name != "vocabulary_without_cls_sep") says.push_back(model.string());  // found when the first text is encoded
    expect_error(r, 3, says, c.name);
    EXPECT_EQ(r.out, "") << c.name;
  }
  const CliResult file_as_model = run_cli(dir_, classify_on(kZh / "config.json"));
  expect_error(file_as_model, 3, {"config.json", "is not a folder"}, "a file given as --model");
}

TEST_F(BadInput, HostileWeightFilesEndToEnd) {
  // The reader sweeps (tests/weights_test.cc) prove each malformed header in the library; these
  // rows prove the binary turns them into exit code 3 and one line naming the file and the tensor.
  const std::string query = "bert.encoder.layer.0.attention.self.query.weight";
  const std::string key = "bert.encoder.layer.0.attention.self.key.weight";
  const std::string original = slurp(kZh / "model.safetensors");
  uint64_t header_length = 0;
  std::memcpy(&header_length, original.data(), 8);
  struct Case {
    std::string name;
    std::function<void(const fs::path&)> edit;
    std::vector<std::string> says;
  };
  auto bytes = [](std::string content) { return [content](const fs::path& f) { write_file(f, content); }; };
  auto header = [](std::function<void(json&)> edit) {
    return [edit](const fs::path& f) { edit_safetensors_header(f, edit); };
  };
  std::string huge_length = original;
  const uint64_t huge = uint64_t{1} << 62;
  std::memcpy(huge_length.data(), &huge, 8);
  std::string not_json = original;
  std::fill(not_json.begin() + 8, not_json.begin() + 8 + static_cast<std::ptrdiff_t>(header_length), '#');
  const std::vector<Case> cases = {
      {"empty", bytes(""), {"empty"}},
      {"truncated_in_the_header", bytes(original.substr(0, 8 + header_length / 2)), {"header length", "past the end"}},
      {"truncated_in_the_data", bytes(original.substr(0, original.size() / 2)), {"end past the data section"}},
      {"huge_header_length", bytes(huge_length), {"exceeds the 100 MB limit"}},
      {"header_not_json", bytes(not_json), {"not valid JSON"}},
      {"offsets_past_the_end",
       header([&](json& h) {
         const uint64_t end = original.size() - 8 - header_length;
         h[query]["data_offsets"] = {end - 16, end + 4080};
       }),
       {query, "end past the data section"}},
      {"overlapping_tensors",
       header([&](json& h) { h[query]["data_offsets"] = h[key]["data_offsets"]; }),
       {query, "overlap", key}},
      {"unknown_dtype", header([&](json& h) { h[query]["dtype"] = "Q4"; }), {query, "dtype 'Q4'"}},
      {"shape_disagrees_with_bytes",
       header([&](json& h) {
         h[query]["shape"] = {32, 31};
       }),
       {query, "needs 3968 bytes", "span 4096"}},
  };
  for (const Case& c : cases) {
    const fs::path model = model_copy(c.name, [&](const fs::path& m) { c.edit(m / "model.safetensors"); });
    std::vector<std::string> says = c.says;
    says.push_back((model / "model.safetensors").string());
    expect_error(run_cli(dir_, classify_on(model)), 3, says, c.name);
  }
  const std::string torch_bin = slurp(kData / "weights/tiny_state_dict.bin");
  const std::vector<Case> bins = {
      {"garbage_bin", bytes("this is not a checkpoint"), {"not a torch.save zip archive"}},
      {"truncated_bin", bytes(torch_bin.substr(0, torch_bin.size() / 2)), {"end-of-central-directory"}},
  };
  for (const Case& c : bins) {
    const fs::path model = model_copy(c.name, [&](const fs::path& m) {
      fs::remove(m / "model.safetensors");
      c.edit(m / "pytorch_model.bin");
    });
    std::vector<std::string> says = c.says;
    says.push_back((model / "pytorch_model.bin").string());
    expect_error(run_cli(dir_, classify_on(model)), 3, says, c.name);
  }
}

TEST_F(BadInput, ForwardRequestsOutsideTheModel) {
  struct Case {
    std::string request;
    std::vector<std::string> says;
  };
  std::string too_long = "{\"input_ids\": [[101";
  for (int i = 0; i < 512; ++i) too_long += ", 2";
  too_long += "]]}";
  const std::vector<Case> cases = {
      {R"({"input_ids": [[101, 21128, 102]]})", {"input id 21128", "outside the vocabulary (size 21128)"}},
      {R"({"input_ids": [[101, -1, 102]]})", {"input id -1", "outside the vocabulary"}},
      {R"({"input_ids": [[101, 2, 102], [101, 102]]})", {"'input_ids' rows have different lengths", "row 1 has 2"}},
      {R"({"input_ids": [[]]})", {"'input_ids' row 0 is empty"}},
      {R"({"input_ids": []})", {"'input_ids' must be a non-empty array"}},
      {R"({"input_ids": [101, 2, 102]})", {"'input_ids' row 0 is not an array"}},
      {R"({"input_ids": [[101, 2.5, 102]]})", {"'input_ids' [0][1] is not an integer"}},
      {R"({"input_ids": [[101, 18446744073709551615, 102]]})", {"'input_ids' [0][1]", "out of range"}},
      {R"({"input_ids": [[101, 2, 102]], "token_type_ids": [[0, 2, 0]]})", {"token_type_id 2", "type_vocab_size 2"}},
      {R"({"input_ids": [[101, 2, 102]], "token_type_ids": [[0, 0]]})", {"'token_type_ids'", "shape of 'input_ids'"}},
      {too_long, {"position 512", "past the position table (max_position_embeddings 512)"}},
      {R"({"input_ids": [[101, 2, 102]], "position_ids": [[0, 512, 2]]})", {"position 512", "past the position table"}},
      {R"({"input_ids": [[101, 2, 102]], "attention_mask": [[0, 0, 0]]})",
       {"row 0 has no token with attention_mask 1"}},
      {R"({"input_ids": [[101, 2, 102]], "attention_mask": [[1, 2, 1]]})",
       {"'attention_mask' [0][1] = 2", "out of range"}},
      {R"({"input_ids": [[101, 2, 102]], "mlm_positions": [[0, 7]]})", {"mlm position [0, 7]", "outside the batch"}},
      {R"({"input_ids": [[101, 2, 102]], "options": {"window": 0}})", {"'options.window' must be a positive integer"}},
      {R"({"inputs": [[101, 2, 102]]})", {"no 'input_ids'"}},
      {R"([101, 2, 102])", {"must be a JSON object"}},
      {R"({"input_ids": [[101, 2, 102]])", {"request.json", "not valid JSON"}},
  };
  for (const Case& c : cases) {
    write_file(path("request.json"), c.request);
    const CliResult r = run_cli(
        dir_, "forward --no-stats --model " + quote(kZh.string()) + " --input " + quote(path("request.json").string()));
    expect_error(r, 3, c.says, c.request.substr(0, 80));
    EXPECT_EQ(r.out, "") << c.request.substr(0, 80);
  }
  expect_error(run_cli(dir_, "forward --model " + quote(kZh.string()) + " --input " + quote(dir_.string())), 3,
               {dir_.string(), "is a directory"}, "a folder as the request");
}

TEST_F(BadInput, HostileStreamLinesEachGetTheirOwnLineInOrder) {
  // Each row: the raw line; whether score/classify (text through "{sentence}", which joins
  // arrays), embed and tokenize (a string field) can use it; a fragment of the error otherwise.
  // tokenize parses lines itself and has no use for a depth limit: it takes the deeply nested one.
  struct Row {
    std::string bytes;
    bool scored, embedded, tokenized;
    std::string error;
  };
  std::string big_text;  // 700,000 CJK characters, 2.1 MB
  for (int i = 0; i < 700000; ++i) big_text += "梅";
  const std::vector<Row> rows = {
      {"{\"id\": 1, \"sentence\": \"\xff\xfe bad bytes\"}", false, false, false, "ill-formed UTF-8"},
      {"{\"id\": 2, \"sentence\": \"\"}", true, true, true, ""},
      {"{\"id\": 3, \"sentence\": null}", false, false, false, "not a string"},
      {"{\"id\": 4, \"sentence\": \"" + big_text + "\"}", true, true, true, ""},
      {"{\"id\": 5, \"sentence\": \"x\", \"deep\": " + std::string(100000, '[') + std::string(100000, ']') + "}", false,
       false, true, "nested deeper than"},
      {"{\"id\": 6, \"sentence\": \"windows line end\"}\r", true, true, true, ""},
      {std::string("{\"id\": 7, \"sentence\": \"raw \0 byte\"}", 33), false, false, false, "U+0000"},
      {"{\"id\": \"\xc3\x28\", \"sentence\": \"bad bytes in the id\"}", false, false, false, "ill-formed UTF-8"},
      {"{\xff", false, false, false, "not valid JSON"},
      {std::string(200000, '['), false, false, false, ""},
      {"\xef\xbb\xbf{\"id\": 11, \"sentence\": \"byte order mark\"}", true, true, true, ""},
      {"{\"id\": 12, \"sentence\": [\"an\", \"array\"]}", true, false, false, "not a string"},
      {"{\"id\": {\"nested\": [1, 2]}, \"sentence\": \"an object as id\"}", true, true, true, ""},
      {"{\"id\": 14, \"sentence\": \"\\ud800 lone surrogate\"}", false, false, false, "surrogate"},
      {"{\"id\": 15, \"sentence\": \"\\u0000\\u0000 escaped NULs\"}", true, true, true, ""},
      {"{\"id\": 1e400, \"sentence\": \"number past double\"}", false, false, false, "1e400"},
      {"{\"id\": 17, \"text\": \"wrong key\"}", false, false, false, "sentence"},
      {"\"just a string\"", false, false, false, "JSON object"},
      {"{\"id\": 19, \"sentence\": \"no newline after the last line\"}", true, true, true, ""},
  };
  std::string input;
  std::vector<int64_t> line_numbers;  // physical line of each row
  int64_t line = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i % 4 == 1) {
      input += " \t \n";  // blank lines: skipped, no output line
      ++line;
    }
    input += rows[i].bytes + (i + 1 < rows.size() ? "\n" : "");
    line_numbers.push_back(++line);
  }
  write_file(path("hostile.jsonl"), input);
  const std::string in = quote(path("hostile.jsonl").string());
  const std::string model = quote(kZh.string());
  enum Kind { Scorer, Embed, Tokenize };
  const struct {
    std::string args;
    Kind kind;
  } commands[] = {
      {"score --model " + model + " --task " + quote((kTasks / "tnews.json").string()) + " --chunk-size 3 --input " +
           in,
       Scorer},
      {"classify --model " + model +
           " --template '这是{label}' --labels 体育,财经 --text-field sentence --chunk-size 3 --input " + in,
       Scorer},
      {"embed --model " + model + " --field sentence --max-length 16 --input " + in, Embed},
      {"tokenize --model " + model + " --field sentence --input " + in, Tokenize},
  };
  for (const auto& command : commands) {
    SCOPED_TRACE(command.args.substr(0, 40));
    const CliResult r = run_cli(dir_, command.args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::vector<std::string> out = lines_of(r.out);
    ASSERT_EQ(out.size(), rows.size()) << r.err;
    for (size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE("row " + std::to_string(i + 1));
      json got;
      ASSERT_NO_THROW(got = json::parse(out[i])) << "not valid JSON (or not UTF-8): " << out[i].substr(0, 200);
      const bool ok = command.kind == Scorer  ? rows[i].scored
                      : command.kind == Embed ? rows[i].embedded
                                              : rows[i].tokenized;
      EXPECT_EQ(got.contains("error"), !ok) << out[i].substr(0, 300);
      if (!ok) {
        EXPECT_EQ(got["line"], line_numbers[i]);
        EXPECT_NE(got["error"].get<std::string>().find(rows[i].error), std::string::npos) << got["error"];
      } else if (command.kind == Scorer) {
        const size_t bom = rows[i].bytes.starts_with("\xef\xbb\xbf") ? 3 : 0;
        EXPECT_EQ(got["id"], json::parse(rows[i].bytes.substr(bom))["id"]);
        EXPECT_TRUE(got.contains("label"));
      } else if (command.kind == Embed) {
        EXPECT_EQ(got["embedding"].size(), 32u);
      } else {
        EXPECT_TRUE(got.contains("tokens"));
      }
    }
    if (command.kind == Scorer) {
      EXPECT_EQ(r.err, "nspbert: 11 of 19 lines could not be scored (see their \"error\" output lines)\n");
    }
  }
}

TEST_F(BadInput, FlagsThatMakeNoSense) {
  const std::string zh = " --model " + quote(kZh.string());
  const std::string tnews = " --task " + quote((kTasks / "tnews.json").string());
  write_file(path("empty_labels.txt"), "\n  \n");
  const struct {
    std::string args;
    int code;
    std::vector<std::string> says;
  } cases[] = {
      {"", 2, {"subcommand"}},
      {"frobnicate", 2, {"unknown command 'frobnicate'", "score"}},
      {"score" + zh + tnews + " --no-such-flag", 2, {"--no-such-flag"}},
      {"score" + zh, 2, {"--task"}},
      {"score" + zh + tnews + " --chunk-size 0", 2, {"--chunk-size"}},
      {"score" + zh + tnews + " --max-length 2", 2, {"--max-length"}},
      {"score" + zh + tnews + " --threads -1", 2, {"--threads"}},
      {"score" + zh + tnews + " --attention-window 0", 2, {"--attention-window"}},
      {"score" + zh + tnews + " --position middle", 2, {"--position"}},
      {"score" + zh + tnews + " --precision f64", 2, {"--precision"}},
      {"score" + zh + tnews + " --top-k 0", 2, {"--top-k"}},
      {"score" + zh + tnews + " --template '这是{labels}'", 2, {"{label}"}},
      {"classify" + zh + " --labels 体育,财经 x", 2, {"--template"}},
      {"classify" + zh + " --template '{label}' --labels-file " + quote(path("empty_labels.txt").string()) + " x",
       2,
       {"empty_labels.txt", "no labels"}},
      {"classify" + zh + " --template '{label}' --labels , x", 2, {"empty"}},
      {"classify" + zh + " --template '{label}' --labels a,b --format table --resume --output " +
           quote(path("o.txt").string()) + " x",
       2,
       {"--resume"}},
      {"tokenize --input /dev/null", 2, {"--model", "--vocab"}},
      {"tokenize --vocab " + quote((kData / "vocab/zh_vocab.txt").string()) + " --resume", 2, {"--output"}},
      {"forward" + zh, 3, {"standard input", "not valid JSON"}},
      {"classify --model " + quote(path("two\nlines").string()) + " --template '{label}' --labels a,b x",
       3,
       {"two lines", "does not exist"}},
  };
  for (const auto& c : cases) {
    const CliResult r = run_cli(dir_, c.args);
    expect_error(r, c.code, c.says, c.args);
    EXPECT_EQ(r.out, "") << c.args;
  }
}

TEST_F(BadInput, InputAndOutputPathsThatCannotBeUsed) {
  const std::string score =
      "score --model " + quote(kZh.string()) + " --task " + quote((kTasks / "tnews.json").string());
  write_file(path("in.jsonl"), "{\"id\": 1, \"sentence\": \"梅西\"}\n");
  const std::string in = " --input " + quote(path("in.jsonl").string());
  fs::create_directory(path("a_folder"));
  const struct {
    std::string args;
    fs::path stdin_from;  // empty: an empty standard input
    std::vector<std::string> says;
  } cases[] = {
      {score + " --input " + quote(path("a_folder").string()), "", {"a_folder", "is a directory"}},
      {score + " --input " + quote(path("absent.jsonl").string()), "", {"absent.jsonl", "cannot open"}},
      {score + in + " --output " + quote(path("no/such/folder/out.jsonl").string()),
       "",
       {"out.jsonl.partial", "cannot write"}},
      {score + in + " --output " + quote(path("a_folder").string()), "", {"a_folder", "is a directory"}},
      {"score --model " + quote(kZh.string()) + " --task " + quote(path("a_folder").string()),
       "",
       {"a_folder", "is a directory"}},
      {"score --model " + quote(kZh.string()) + " --task " + quote((kTasks / "ocnli.json").string()) + in +
           " --thresholds " + quote(path("a_folder").string()),
       "",
       {"a_folder", "is a directory"}},
      {"classify --model " + quote(kZh.string()) + " --template '{label}' --labels-file " +
           quote(path("a_folder").string()) + " x",
       "",
       {"a_folder", "is a directory"}},
      {"tokenize --model " + quote(kZh.string()) + " --input " + quote(path("a_folder").string()), "", {"a_folder"}},
      {"embed --model " + quote(kZh.string()) + " --input " + quote(path("a_folder").string()),
       "",
       {"a_folder", "is a directory"}},
      {score, path("a_folder"), {"error while reading standard input", "Is a directory"}},
      {"embed --model " + quote(kZh.string()), path("a_folder"), {"error while reading standard input"}},
  };
  for (const auto& c : cases) {
    const CliResult r = c.stdin_from.empty() ? run_cli(dir_, c.args) : run_cli(dir_, c.args, StdinFile{c.stdin_from});
    expect_error(r, 3, c.says, c.args + " <" + c.stdin_from.string());
    EXPECT_EQ(r.out, "") << c.args;
  }
  EXPECT_FALSE(fs::exists(path("a_folder.partial")));
}
