// classify, score and eval through the built nspbert binary: the NSP fixtures reproduced end to end
// (the project's copy of conformance.py --only nsp), every FewCLUE task type on the samples in
// tests/data/fewclue, thresholds, resume, and every error path.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli_test_support.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kTasks = kData.parent_path().parent_path() / "tools/tasks";
const std::string kZh = (kData / "fixtures/models/bert-zh-tiny").string();

using nspbert::test_support::CliResult;
using nspbert::test_support::quote;
using nspbert::test_support::run_cli;
using nspbert::test_support::slurp;
using nspbert::test_support::write_file;

class ZeroShotCli : public nspbert::test_support::ScratchDirTest {
 protected:
  fs::path path(const std::string& name) const { return dir_ / name; }
};

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::vector<json> read_jsonl(const fs::path& p) { return jsonl(slurp(p)); }

std::string task(const std::string& name) { return quote((kTasks / (name + ".json")).string()); }
std::string sample(const std::string& name) { return quote((kData / "fewclue" / (name + ".jsonl")).string()); }

bool one_error_line(const CliResult& r) {
  return r.err.rfind("nspbert: ", 0) == 0 && std::count(r.err.begin(), r.err.end(), '\n') == 1;
}

}  // namespace

TEST_F(ZeroShotCli, ClassifyReproducesEveryNspFixture) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kData / "fixtures/nsp")) {
    const json fx = json::parse(slurp(entry.path()));
    const std::string model = (kData / "fixtures" / fx["model"].get<std::string>()).string();
    for (const json& t : fx["tasks"]) {
      std::string labels;
      for (const json& l : t["labels"]) labels += (labels.empty() ? "" : ",") + l.get<std::string>();
      std::string args = "classify --model " + quote(model) + " --template " + quote(t["template"]) + " --labels " +
                         quote(labels) + " --position " + t["position"].get<std::string>() + " --max-length " +
                         std::to_string(t["maxlen"].get<int>()) + " --format json";
      for (const json& text : t["texts"]) args += " " + quote(text);
      const CliResult r = run_cli(dir_, args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const json got = json::parse(r.out);
      ASSERT_EQ(got.size(), t["texts"].size());
      for (size_t i = 0; i < t["texts"].size(); ++i) {
        ++cases;
        EXPECT_EQ(got[i]["text"], t["texts"][i]);
        EXPECT_EQ(got[i]["label"], t["expect_label"][i]) << entry.path() << " text " << i;
        std::map<std::string, json> by;
        for (const json& s : got[i]["scores"]) by[s["label"]] = s;
        for (size_t k = 0; k < t["labels"].size(); ++k) {
          const json& s = by.at(t["labels"][k].get<std::string>());
          EXPECT_NEAR(s["prob_is_next"].get<double>(), t["expect_prob_is_next"][i][k].get<double>(), 1e-3);
          EXPECT_NEAR(s["logit_gap"].get<double>(), t["expect_logit_gap"][i][k].get<double>(), 1e-3);
        }
      }
    }
  }
  EXPECT_EQ(cases, 52);
}

// ALBERT (tests/data/fixtures/models/albert-zh-tiny, from tools/fixtures/make_albert_fixture.py):
// inspect names the family and its factorised embeddings; classify scores with the SOP head
// (its values against torch are checked by ClassifyReproducesEveryNspFixture).
TEST_F(ZeroShotCli, AlbertInspectsAsAlbertAndClassifiesWithItsSopHead) {
  const std::string albert = (kData / "fixtures/models/albert-zh-tiny").string();
  const CliResult info = run_cli(dir_, "inspect --format json --model " + quote(albert));
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const json j = json::parse(info.out);
  EXPECT_EQ(j["family"], "albert");
  EXPECT_EQ(j["embedding_size"], 16);
  EXPECT_EQ(j["hidden_size"], 32);
  EXPECT_EQ(j["heads"], json::parse(R"(["pooler", "nsp", "mlm"])"));
  EXPECT_EQ(j["unused_tensors"], json::array());
  const CliResult r = run_cli(dir_, "classify --model " + quote(albert) +
                                        " --template '这是一则{label}新闻' --labels 体育,财经 "
                                        "--format json 梅西超越贝利成为南美射手王");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json got = json::parse(r.out);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0]["scores"].size(), 2u);
  for (const json& s : got[0]["scores"]) {
    const double p = s["prob_is_next"].get<double>(), gap = s["logit_gap"].get<double>();
    EXPECT_NEAR(p, 1.0 / (1.0 + std::exp(-gap)), 1e-3);  // P(IsNext) = sigmoid(l0 - l1) of the SOP logits
  }
}

TEST_F(ZeroShotCli, ClassifyReadsJsonlFromStdinOrAFileKeepingIdsAndOrder) {
  const std::string input =
      "{\"id\": \"a\", \"text\": \"梅西超越贝利成为南美射手王\"}\n\n{\"text\": \"股市大涨\", \"id\": 7}\n";
  const std::string args = "classify --model " + quote(kZh) + " --template '这是一则{label}新闻' --labels 体育,财经";
  const CliResult from_stdin = run_cli(dir_, args, input);
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  const auto rows = jsonl(from_stdin.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["id"], "a");
  EXPECT_EQ(rows[1]["id"], 7);
  EXPECT_EQ(rows[1]["text"], "股市大涨");
  EXPECT_EQ(rows[0]["scores"].size(), 2u);
  write_file(path("in.jsonl"), input);
  const CliResult from_file = run_cli(dir_, args + " --input " + quote(path("in.jsonl").string()));
  EXPECT_EQ(from_file.out, from_stdin.out);
  const CliResult to_file = run_cli(
      dir_, args + " --input " + quote(path("in.jsonl").string()) + " --output " + quote(path("out.jsonl").string()));
  EXPECT_EQ(to_file.exit_code, 0);
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(slurp(path("out.jsonl")), from_stdin.out);
  EXPECT_FALSE(fs::exists(path("out.jsonl.partial")));
}

TEST_F(ZeroShotCli, ClassifyTopKNormalizeTableAndLabelsFile) {
  const std::string base =
      "classify --model " + quote(kZh) + " --template '这是一则{label}新闻' --labels 体育,财经,娱乐 ";
  const CliResult top = run_cli(dir_, base + "--top-k 1 --normalize 梅西超越贝利成为南美射手王");
  ASSERT_EQ(top.exit_code, 0) << top.err;
  const json one = json::parse(top.out);
  ASSERT_EQ(one["scores"].size(), 1u);
  EXPECT_EQ(one["scores"][0]["label"], one["label"]);
  const json all = json::parse(run_cli(dir_, base + "--normalize 梅西超越贝利成为南美射手王").out);
  double sum = 0, best = 0;
  for (const json& s : all["scores"]) {
    sum += s["probability"].get<double>();
    best = std::max(best, s["probability"].get<double>());
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_NEAR(one["scores"][0]["probability"].get<double>(), best, 1e-9);

  const CliResult table = run_cli(dir_, base + "--format table 梅西超越贝利成为南美射手王 股市大涨");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header, row1, row2;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  EXPECT_NE(header.find("P(IsNext)"), std::string::npos);
  EXPECT_NE(row1.find("梅西超越贝利"), std::string::npos);
  EXPECT_NE(row2.find("股市大涨"), std::string::npos);

  const CliResult file =
      run_cli(dir_, "classify --model " + quote(kZh) + " --template '这是一篇{label}类论文' --labels-file " +
                        quote((kData / "fewclue/csldcp_labels.txt").string()) + " 一种新的材料制备方法");
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(json::parse(file.out)["scores"].size(), 67u);
}

TEST_F(ZeroShotCli, ClassifyCombinesTemplatesCalibratesAndScoresWithTheMlmHead) {
  const std::string text = "梅西超越贝利成为南美射手王";
  const CliResult two =
      run_cli(dir_, "classify --model " + quote(kZh) +
                        " --template '这是一则{label}新闻' --template '{label}' --combine logsumexp --calibrate "
                        "--labels 体育,财经 " +
                        text);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const json j = json::parse(two.out);
  for (const json& s : j["scores"]) {
    ASSERT_EQ(s["template_logit_gaps"].size(), 2u);
    // P(IsNext) reported is the log-mean-exp of the two templates' probabilities.
    const double g0 = s["template_logit_gaps"][0], g1 = s["template_logit_gaps"][1];
    const double mean_p = 0.5 * (1 / (1 + std::exp(-g0)) + 1 / (1 + std::exp(-g1)));
    EXPECT_NEAR(s["prob_is_next"].get<double>(), mean_p, 1e-6);
    EXPECT_NE(s["score"].get<double>(), std::log(mean_p));  // calibrated
  }
  const std::string v2 = (kData / "fixtures/models/roformer-v2-zh-tiny").string();
  const CliResult mlm = run_cli(
      dir_, "classify --model " + quote(v2) + " --scorer mlm --template '东西很{label}' --labels 好,差,一般 " + text);
  ASSERT_EQ(mlm.exit_code, 0) << mlm.err;
  const json m = json::parse(mlm.out);
  ASSERT_EQ(m["scores"].size(), 3u);
  for (const json& s : m["scores"]) {
    EXPECT_LT(s["log_prob"].get<double>(), 0.0);
    EXPECT_FALSE(s.contains("prob_is_next"));
  }
  const CliResult no_nsp =
      run_cli(dir_, "classify --model " + quote(v2) + " --template '东西很{label}' --labels 好,差 " + text);
  EXPECT_EQ(no_nsp.exit_code, 3);
  EXPECT_NE(no_nsp.err.find("no NSP head"), std::string::npos) << no_nsp.err;
  EXPECT_TRUE(one_error_line(no_nsp)) << no_nsp.err;
}

TEST_F(ZeroShotCli, ScoreAndEvalRunOnEveryFewclueSample) {
  for (const std::string name : {"eprstmt", "tnews", "csldcp", "iflytek", "ocnli", "bustm", "csl", "cluewsc", "chid"}) {
    SCOPED_TRACE(name);
    const auto input = read_jsonl(kData / "fewclue" / (name + ".jsonl"));
    const CliResult score =
        run_cli(dir_, "score --model " + quote(kZh) + " --task " + task(name) + " --input " + sample(name));
    ASSERT_EQ(score.exit_code, 0) << score.err;
    const auto rows = jsonl(score.out);
    ASSERT_EQ(rows.size(), input.size());
    const std::string id_field = name == "cluewsc" ? "idx" : "id";
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i]["id"], input[i][id_field]);
      EXPECT_TRUE(rows[i].contains("label")) << rows[i].dump();
      EXPECT_EQ(rows[i]["gold"], input[i][name == "chid" ? "answer" : "label"]);
      if (name == "chid") {
        EXPECT_EQ(rows[i]["scores"].size(), input[i]["candidates"].size());
        EXPECT_EQ(rows[i]["word"], input[i]["candidates"][rows[i]["label"].get<size_t>()]);
      }
    }
    const CliResult eval = run_cli(
        dir_, "eval --format json --model " + quote(kZh) + " --task " + task(name) + " --input " + sample(name));
    ASSERT_EQ(eval.exit_code, 0) << eval.err;
    const json report = json::parse(eval.out);
    EXPECT_EQ(report["evaluated"], input.size());
    EXPECT_EQ(report["failed"], 0);
    EXPECT_GE(report["accuracy"].get<double>(), 0.0);
    EXPECT_LE(report["accuracy"].get<double>(), 1.0);
    EXPECT_TRUE(report.contains("paper_accuracy"));
    int64_t total = 0, diagonal = 0;
    const json& matrix = report["confusion_matrix"]["matrix"];
    for (size_t g = 0; g < matrix.size(); ++g)
      for (size_t p = 0; p < matrix[g].size(); ++p) {
        total += matrix[g][p].get<int64_t>();
        if (g == p) diagonal += matrix[g][p].get<int64_t>();
      }
    EXPECT_EQ(total, static_cast<int64_t>(input.size()));
    EXPECT_NEAR(report["accuracy"].get<double>(), static_cast<double>(diagonal) / input.size(), 1e-12);
    // The score stream and the evaluation agree line for line.
    int64_t agree = 0;
    for (const json& r : rows) agree += r["label"] == r["gold"];
    EXPECT_EQ(agree, diagonal);
    const CliResult table =
        run_cli(dir_, "eval --model " + quote(kZh) + " --task " + task(name) + " --input " + sample(name));
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("accuracy"), std::string::npos);
    EXPECT_NE(table.out.find("macro-F1"), std::string::npos);
    EXPECT_NE(table.out.find("paper"), std::string::npos);
  }
}

TEST_F(ZeroShotCli, EnglishSpecsRunOnTheEnglishModel) {
  const std::string en = (kData / "fixtures/models/bert-en-tiny").string();
  write_file(path("sst2.jsonl"),
             "{\"idx\": 0, \"sentence\": \"a gorgeous, witty film\", \"label\": 1}\n"
             "{\"idx\": 1, \"sentence\": \"dull and lifeless\", \"label\": 0}\n");
  write_file(path("agnews.jsonl"),
             "{\"id\": 3, \"text\": \"Stocks rallied as the central bank held rates.\", \"label\": 2}\n");
  for (const std::string name : {"sst2", "imdb", "agnews"}) {
    const std::string input = quote(path((name == "agnews" ? "agnews" : "sst2") + std::string(".jsonl")).string());
    const std::string spec = task(name);
    if (name == "imdb") {  // IMDB's field is "text": feed the SST-2 lines renamed
      write_file(path("imdb.jsonl"), "{\"id\": 0, \"text\": \"a gorgeous, witty film\", \"label\": 1}\n");
    }
    const std::string in = name == "imdb" ? quote(path("imdb.jsonl").string()) : input;
    const CliResult r = run_cli(dir_, "eval --format json --model " + quote(en) + " --task " + spec + " --input " + in);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(json::parse(r.out)["failed"], 0);
  }
}

TEST_F(ZeroShotCli, SamplesContrastFitsSavesAndReusesThresholds) {
  const std::string base = "score --model " + quote(kZh) + " --task " + task("ocnli") + " --input " + sample("ocnli");
  const std::string saved = path("ocnli.thresholds.json").string();
  const CliResult fit = run_cli(dir_, base + " --fit-on " + sample("ocnli") + " --save-thresholds " + quote(saved));
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const json th = json::parse(slurp(saved));
  ASSERT_EQ(th["labels"], json::parse(R"(["contradiction", "neutral", "entailment"])"));
  ASSERT_EQ(th["cuts"].size(), 2u);
  const CliResult reuse = run_cli(dir_, base + " --thresholds " + quote(saved));
  ASSERT_EQ(reuse.exit_code, 0) << reuse.err;
  EXPECT_EQ(reuse.out, fit.out);
  int64_t correct = 0;
  const auto rows = jsonl(reuse.out);
  for (const json& r : rows) {
    const double gap = r["logit_gap"];
    const std::string want = gap < th["cuts"][0].get<double>()   ? "contradiction"
                             : gap < th["cuts"][1].get<double>() ? "neutral"
                                                                 : "entailment";
    EXPECT_EQ(r["label"], want);
    correct += r["label"] == r["gold"];
  }
  // Fitted on the same lines: the saved accuracy is the accuracy of these predictions.
  EXPECT_NEAR(th["accuracy"].get<double>(), static_cast<double>(correct) / rows.size(), 1e-12);
  const CliResult eval = run_cli(dir_, "eval --format json --model " + quote(kZh) + " --task " + task("ocnli") +
                                           " --input " + sample("ocnli") + " --thresholds " + quote(saved));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(json::parse(eval.out)["labelling"], "thresholds");
  EXPECT_NEAR(json::parse(eval.out)["accuracy"].get<double>(), th["accuracy"].get<double>(), 1e-12);
}

TEST_F(ZeroShotCli, SamplesContrastWithoutThresholdsCutsEqualSizeBins) {
  const CliResult r = run_cli(dir_, "score --model " + quote(kZh) + " --task " + task("ocnli") + " --input " +
                                        sample("ocnli") + " --chunk-size 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = jsonl(r.out);
  ASSERT_EQ(rows.size(), 20u);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const json& a, const json& b) { return a["logit_gap"] < b["logit_gap"]; });
  // rank r of 20 goes to floor(3r/20): 7 contradiction, 7 neutral, 6 entailment, rising with the score.
  for (size_t i = 0; i < rows.size(); ++i) {
    const char* want = i < 7 ? "contradiction" : i < 14 ? "neutral" : "entailment";
    EXPECT_EQ(rows[i]["label"], want) << i;
  }
}

TEST_F(ZeroShotCli, ResumeContinuesAnInterruptedOutputWithoutRescoringOrDuplicating) {
  const std::string base = "score --model " + quote(kZh) + " --task " + task("tnews") + " --input " + sample("tnews") +
                           " --chunk-size 4 --output ";
  ASSERT_EQ(run_cli(dir_, base + quote(path("full.jsonl").string())).exit_code, 0);
  const std::string full = slurp(path("full.jsonl"));
  ASSERT_EQ(std::count(full.begin(), full.end(), '\n'), 20);
  // Interrupted after 5 lines and half of the 6th.
  size_t cut = 0;
  for (int i = 0; i < 5; ++i) cut = full.find('\n', cut) + 1;
  write_file(path("resumed.jsonl.partial"), full.substr(0, cut + 20));
  const CliResult resumed = run_cli(dir_, base + quote(path("resumed.jsonl").string()) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(slurp(path("resumed.jsonl")), full);
  EXPECT_FALSE(fs::exists(path("resumed.jsonl.partial")));

  // The lines kept are not rescored: a marker in a kept line survives.
  std::string marked = full.substr(0, cut);
  marked.replace(marked.find("\"label\""), 7, "\"LABEL\"");
  write_file(path("marked.jsonl.partial"), marked);
  ASSERT_EQ(run_cli(dir_, base + quote(path("marked.jsonl").string()) + " --resume").exit_code, 0);
  const std::string after = slurp(path("marked.jsonl"));
  EXPECT_EQ(after.substr(0, cut), marked);
  EXPECT_EQ(after.substr(cut), full.substr(cut));

  // Resuming a complete output changes nothing.
  ASSERT_EQ(run_cli(dir_, base + quote(path("full.jsonl").string()) + " --resume").exit_code, 0);
  EXPECT_EQ(slurp(path("full.jsonl")), full);

  // An output longer than the input belongs to another input.
  write_file(path("other.jsonl"), full + full);
  const CliResult other = run_cli(dir_, base + quote(path("other.jsonl").string()) + " --resume");
  EXPECT_EQ(other.exit_code, 3);
  EXPECT_NE(other.err.find("another input"), std::string::npos) << other.err;
}

TEST_F(ZeroShotCli, BadLinesBecomeErrorLinesAndTheRunGoesOn) {
  const std::string input =
      "{\"text\": \"梅西超越贝利成为南美射手王\"}\n"
      "{not json\n"
      "\n"
      "{\"text\": 42, \"id\": 9}\n"
      "[\"an array\"]\n"
      "{\"body\": \"no text field\"}\n"
      "{\"text\": \"股市大涨\"}\n";
  const CliResult r =
      run_cli(dir_, "classify --model " + quote(kZh) + " --template '这是一则{label}新闻' --labels 体育,财经", input);
  EXPECT_EQ(r.exit_code, 1);
  const auto rows = jsonl(r.out);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_TRUE(rows[0].contains("scores"));
  EXPECT_EQ(rows[1]["line"], 2);
  EXPECT_NE(rows[1]["error"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(rows[2]["line"], 4);
  EXPECT_EQ(rows[2]["id"], 9);
  EXPECT_NE(rows[2]["error"].get<std::string>().find("not a string"), std::string::npos);
  EXPECT_EQ(rows[3]["line"], 5);
  EXPECT_EQ(rows[4]["line"], 6);
  EXPECT_NE(rows[4]["error"].get<std::string>().find("missing field 'text'"), std::string::npos);
  EXPECT_EQ(rows[5]["text"], "股市大涨");

  // In eval, a gold label the task does not know fails that line only.
  const CliResult eval = run_cli(dir_, "eval --format json --model " + quote(kZh) + " --task " + task("eprstmt"),
                                 "{\"id\": 1, \"sentence\": \"很好\", \"label\": \"Positive\"}\n"
                                 "{\"id\": 2, \"sentence\": \"一般\", \"label\": \"Neutral\"}\n"
                                 "{\"id\": 3, \"sentence\": \"一般\"}\n");
  EXPECT_EQ(eval.exit_code, 1);
  const json report = json::parse(eval.out);
  EXPECT_EQ(report["evaluated"], 1);
  EXPECT_EQ(report["failed"], 2);
  EXPECT_NE(report["first_failures"][0]["error"].get<std::string>().find("Neutral"), std::string::npos);
  EXPECT_NE(report["first_failures"][1]["error"].get<std::string>().find("no gold label"), std::string::npos);
}

TEST_F(ZeroShotCli, ErrorPathsExitWithOneLineNamingTheProblem) {
  write_file(path("unknown_field.json"), R"({"strategy": "samples-contrast", "labels": ["0", "1"], "segment_a": "{a}",
    "segment_b": "{b}", "colour": "red"})");
  write_file(path("unlabelled.json"), R"({"strategy": "samples-contrast", "labels": ["0", "1"], "segment_a": "{a}",
    "segment_b": "{b}"})");
  write_file(path("bustm_th.json"), R"({"labels": ["0", "1"], "cuts": [0.5]})");
  write_file(path("in.jsonl"), "{\"text\": \"x\"}\n");
  const std::string zh = " --model " + quote(kZh);
  const std::string classify = "classify" + zh + " --labels 体育,财经 --template '这是{label}' ";
  struct Case {
    std::string args;
    int exit_code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"classify" + zh + " --template 'no slot' --labels a,b x", 2, "{label}"},
      {"classify" + zh + " --template '{label}' x", 2, "no labels"},
      {"classify" + zh + " --template '{label}' --labels 'a,,b' x", 2, "empty"},
      {"classify" + zh + " --template '{label}' --labels a,a x", 2, "twice"},
      {"classify --model " + quote(path("no_such_model").string()) + " --template '{label}' --labels a,b x", 3,
       "no_such_model"},
      {"classify" + zh + " --template '{label}' --labels-file " + quote(path("missing.txt").string()) + " x", 3,
       "missing.txt"},
      {classify + "--format json --resume --output " + quote(path("o.json").string()) + " x", 2, "--resume"},
      {classify + "--resume x", 2, "--output"},
      {classify + "--max-length 1000 x", 2, "position table"},
      {classify + "--input " + quote(path("in.jsonl").string()) + " x", 2, "not both"},
      {classify + "--input " + quote(path("absent.jsonl").string()), 3, "absent.jsonl"},
      {"score" + zh + " --task " + quote(path("unknown_field.json").string()), 3, "unknown field 'colour'"},
      {"score" + zh + " --task " + quote(path("no_task.json").string()), 3, "no_task.json"},
      {"score" + zh + " --task " + task("ocnli") + " --thresholds " + quote(path("missing_th.json").string()), 3,
       "missing_th.json"},
      {"score" + zh + " --task " + task("ocnli") + " --input " + sample("ocnli") + " --thresholds " +
           quote(path("bustm_th.json").string()),
       3, "labels"},
      {"score" + zh + " --task " + task("eprstmt") + " --fit-on " + sample("eprstmt"), 2, "candidates-contrast"},
      {"score" + zh + " --task " + task("ocnli") + " --output " + quote(path("o.jsonl").string()) + " --resume", 2,
       "--thresholds"},
      {"score" + zh + " --task " + task("ocnli") + " --calibrate", 2, "calibration"},
      {"score" + zh + " --task " + task("ocnli") + " --template '{label}'", 2, "samples-contrast"},
      {"score" + zh + " --task " + task("ocnli") + " --top-k 1", 2, "--top-k"},
      {"score" + zh + " --task " + task("ocnli") + " --save-thresholds x.json", 2, "fit-on"},
      {"score" + zh + " --task " + task("tnews") + " --scorer mlm --template '{label}{label}'", 2, "one {label}"},
      {"eval" + zh + " --task " + quote(path("unlabelled.json").string()), 2, "label_field"},
      {"eval" + zh + " --task " + task("eprstmt") + " --format yaml", 2, "format"},
  };
  for (const Case& c : cases) {
    const CliResult r = run_cli(dir_, c.args, "{\"text\": \"x\"}\n");
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_TRUE(one_error_line(r)) << c.args << "\n" << r.err;
  }
}
