// embed, rank, summarize and pair-score through the built nspbert binary: the similarity fixtures
// reproduced (the project's copy of conformance.py --only similarity), geodesic ranks and summaries
// against a Floyd-Warshall written here, cross-encoder scores against the pooled outputs of
// `nspbert forward` times a classifier head this test writes into a copied checkpoint, the length
// options, and the error paths.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tests/cli_test_support.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kModels = kData / "fixtures/models";
const std::string kBertZh = (kModels / "bert-zh-tiny").string();
const std::string kBertEn = (kModels / "bert-en-tiny").string();
const std::string kRoformerV2 = (kModels / "roformer-v2-zh-tiny").string();
constexpr double kInf = std::numeric_limits<double>::infinity();

using nspbert::test_support::add_classifier;
using nspbert::test_support::CliResult;
using nspbert::test_support::quote;
using nspbert::test_support::run_cli;
using nspbert::test_support::slurp;
using nspbert::test_support::write_file;

std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::string texts_jsonl(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& t : texts) out += json{{"text", t}}.dump() + "\n";
  return out;
}

double max_abs_diff(const json& got, const json& want) {
  if (want.is_array()) {
    if (!got.is_array() || got.size() != want.size()) return kInf;
    double m = 0;
    for (size_t i = 0; i < want.size(); ++i) m = std::max(m, max_abs_diff(got[i], want[i]));
    return m;
  }
  if (!got.is_number() || !want.is_number()) return kInf;
  return std::abs(got.get<double>() - want.get<double>());
}

double cosine_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return 1 - ab / std::sqrt(aa * bb);
}

// Geodesic distances from node 0 the slow way: all pairs, the either-way kNN edge rule, Floyd-Warshall.
std::vector<double> plain_geodesic_from_first(const std::vector<std::vector<double>>& v, size_t k) {
  const size_t n = v.size();
  std::vector<std::vector<double>> d(n, std::vector<double>(n));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) d[i][j] = cosine_distance(v[i], v[j]);
  std::vector<std::vector<bool>> near(n, std::vector<bool>(n));
  for (size_t i = 0; i < n; ++i) {
    std::vector<size_t> others;
    for (size_t j = 0; j < n; ++j)
      if (j != i) others.push_back(j);
    std::stable_sort(others.begin(), others.end(), [&](size_t a, size_t b) { return d[i][a] < d[i][b]; });
    for (size_t m = 0; m < std::min(k, others.size()); ++m) near[i][others[m]] = true;
  }
  std::vector<std::vector<double>> g(n, std::vector<double>(n, kInf));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) g[i][j] = i == j ? 0 : (near[i][j] || near[j][i]) ? d[i][j] : kInf;
  for (size_t m = 0; m < n; ++m)
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) g[i][j] = std::min(g[i][j], g[i][m] + g[m][j]);
  return g[0];
}

class SimilarityCli : public nspbert::test_support::ScratchDirTest {
 protected:
  // Mean-pooled vectors through `embed` (checked against the fixtures in Fixtures).
  std::vector<std::vector<double>> embed(const std::string& model, const std::vector<std::string>& texts,
                                         const std::string& extra = "") const {
    const CliResult r = run_cli(dir_, "embed --model " + quote(model) + " --format jsonl " + extra, texts_jsonl(texts));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::vector<double>> out;
    for (const json& row : parse_lines(r.out)) out.push_back(row.at("embedding").get<std::vector<double>>());
    return out;
  }

  // [CLS] a [SEP] (b [SEP]) ids and segments through `nspbert tokenize`.
  json tokenize(const std::string& model, const std::string& a, const std::string* b = nullptr) const {
    json line = {{"text", a}};
    std::string args = "tokenize --model " + quote(model) + " --special-tokens";
    if (b) {
      line["b"] = *b;
      args += " --pair-field b";
    }
    const CliResult r = run_cli(dir_, args, line.dump() + "\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  // `nspbert forward` on one tokenised sequence.
  json forward(const std::string& model, const json& encoded, const std::string& extra = "") const {
    json request = {{"input_ids", {encoded["ids"]}}};
    // json::array, not `= {x}`: clang reads that as a copy of x, gcc as [x].
    if (encoded.contains("type_ids")) request["token_type_ids"] = json::array({encoded["type_ids"]});
    write_file(dir_ / "request.json", request.dump());
    const CliResult r = run_cli(dir_, "forward --no-stats --model " + quote(model) + " --input " +
                                          quote((dir_ / "request.json").string()) + " " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  static std::vector<double> mean_of_rows(const json& rows) {
    std::vector<double> mean(rows[0].size(), 0.0);
    for (const json& row : rows)
      for (size_t h = 0; h < mean.size(); ++h) mean[h] += row[h].get<double>() / rows.size();
    return mean;
  }
};

TEST_F(SimilarityCli, Fixtures) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kData / "fixtures/similarity")) {
    const json spec = json::parse(slurp(entry.path()));
    const std::string name = entry.path().filename().string();
    const std::string model = (kData / "fixtures" / spec["model"].get<std::string>()).string();
    const std::string common =
        " --model " + quote(model) + " --max-length " + std::to_string(spec["maxlen"].get<int>());
    const std::vector<std::string> texts = spec["texts"];
    const std::string input = texts_jsonl(texts);
    ++files;

    CliResult r = run_cli(dir_, "embed --pooling mean --format json" + common, input);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    json got = json::parse(r.out);
    ASSERT_EQ(got.size(), texts.size());
    json vectors = json::array();
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(got[i]["text"], texts[i]);
      vectors.push_back(got[i]["embedding"]);
    }
    EXPECT_LE(max_abs_diff(vectors, spec["expect_embeddings_mean"]), 1e-3) << name << " mean";

    r = run_cli(dir_, "embed --pooling cls --format json" + common, input);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    got = json::parse(r.out);
    vectors = json::array();
    for (const json& row : got) vectors.push_back(row["embedding"]);
    EXPECT_LE(max_abs_diff(vectors, spec["expect_embedding_cls"]), 1e-3) << name << " cls";

    for (const std::string distance : {"cosine", "geodesic"}) {
      r = run_cli(dir_,
                  "rank --query " + quote(spec["query"]) + " --distance " + distance + " --k " +
                      std::to_string(spec["k"].get<int>()) + " --format json" + common,
                  input);
      ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
      got = json::parse(r.out);
      ASSERT_EQ(got.size(), texts.size());
      double previous = -1;
      for (const json& row : got) {
        const size_t i = row["line"].get<size_t>() - 1;
        EXPECT_EQ(row["text"], texts[i]);
        const double want = distance == "cosine" ? 1 - spec["expect_cosine"][i].get<double>()
                                                 : spec["expect_geodesic"][i].get<double>();
        const double d = row["distance"].get<double>();
        EXPECT_NEAR(d, want, 1e-3) << name << " " << distance << " text " << i;
        EXPECT_NEAR(row["score"].get<double>(), 1 / d, 1e-9 / d / d);
        EXPECT_GE(d, previous) << "sorted nearest first";
        previous = d;
      }
    }
  }
  EXPECT_EQ(files, 5);
}

TEST_F(SimilarityCli, RankMatchesFloydWarshallForOtherK) {
  const json spec = json::parse(slurp(kData / "fixtures/similarity/bert-en-tiny.json"));
  const std::vector<std::string> texts = spec["texts"];
  std::vector<std::string> with_query = {spec["query"].get<std::string>()};
  with_query.insert(with_query.end(), texts.begin(), texts.end());
  const auto vectors = embed(kBertEn, with_query);
  for (int k : {1, 2, 5, 40}) {
    const std::vector<double> want = plain_geodesic_from_first(vectors, k);
    const CliResult r = run_cli(dir_,
                                "rank --model " + quote(kBertEn) + " --distance geodesic --k " + std::to_string(k) +
                                    " --query " + quote(spec["query"]),
                                texts_jsonl(texts));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = parse_lines(r.out);
    ASSERT_EQ(rows.size(), texts.size());
    for (const json& row : rows) {
      const size_t i = row["line"].get<size_t>();
      if (std::isinf(want[i])) {
        EXPECT_TRUE(row["distance"].is_null() && row["score"].is_null()) << "k " << k;
      } else {
        EXPECT_NEAR(row["distance"].get<double>(), want[i], 1e-5) << "k " << k << " text " << i;
      }
    }
  }
  // --top keeps the best N.
  const CliResult r =
      run_cli(dir_, "rank --model " + quote(kBertEn) + " --top 3 --query " + quote(spec["query"]), texts_jsonl(texts));
  EXPECT_EQ(parse_lines(r.out).size(), 3u);
}

TEST_F(SimilarityCli, SummarizePicksNearestToCentreInDocumentOrder) {
  const json spec = json::parse(slurp(kData / "fixtures/similarity/bert-zh-tiny.json"));
  const std::vector<std::string> sentences = spec["texts"];
  const auto vectors = embed(kBertZh, sentences);
  const size_t n = 4, k = 3;

  // Centre = the mean sentence vector, as node 0 of the graph.
  std::vector<double> centre(vectors[0].size(), 0.0);
  for (const auto& v : vectors)
    for (size_t h = 0; h < v.size(); ++h) centre[h] += v[h] / vectors.size();
  std::vector<std::vector<double>> nodes = {centre};
  nodes.insert(nodes.end(), vectors.begin(), vectors.end());
  const std::vector<double> geo = plain_geodesic_from_first(nodes, k);
  std::vector<size_t> order(sentences.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return geo[a + 1] < geo[b + 1]; });
  order.resize(n);
  std::sort(order.begin(), order.end());

  CliResult r = run_cli(dir_, "summarize --model " + quote(kBertZh) + " --no-split -n 4 --k 3", texts_jsonl(sentences));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json got = json::parse(r.out);
  EXPECT_EQ(got["centre"], "mean");
  EXPECT_EQ(got["sentences"], sentences.size());
  ASSERT_EQ(got["summary"].size(), n);
  std::string joined;
  for (size_t m = 0; m < n; ++m) {
    EXPECT_EQ(got["summary"][m]["index"], order[m]);
    EXPECT_EQ(got["summary"][m]["text"], sentences[order[m]]);
    EXPECT_NEAR(got["summary"][m]["distance"].get<double>(), geo[order[m] + 1], 1e-5);
    joined += sentences[order[m]];
  }
  EXPECT_EQ(got["text"], joined);

  // Centred on a query instead: the query is node 0.
  const std::string query = spec["query"];
  std::vector<std::string> with_query = {query};
  with_query.insert(with_query.end(), sentences.begin(), sentences.end());
  const std::vector<double> qgeo = plain_geodesic_from_first(embed(kBertZh, with_query), k);
  r = run_cli(dir_,
              "summarize --model " + quote(kBertZh) + " --no-split -n 2 --k 3 --format jsonl --query " + quote(query),
              texts_jsonl(sentences));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = parse_lines(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_LT(rows[0]["index"].get<size_t>(), rows[1]["index"].get<size_t>());
  std::vector<double> picked_max;
  for (const json& row : rows) EXPECT_NEAR(row["distance"].get<double>(), qgeo[row["index"].get<size_t>() + 1], 1e-5);
  // Nothing left out is nearer than what was picked.
  const double worst = std::max(rows[0]["distance"].get<double>(), rows[1]["distance"].get<double>());
  size_t nearer = 0;
  for (size_t i = 1; i < qgeo.size(); ++i) nearer += qgeo[i] < worst - 1e-9;
  EXPECT_LE(nearer, 1u);
}

TEST_F(SimilarityCli, SummarizeSplitsSentences) {
  const std::string doc = "屏幕很清楚。电池不耐用！客服态度很好。物流太慢了？";
  const CliResult r =
      run_cli(dir_, "summarize --model " + quote(kBertZh) + " -n 2", texts_jsonl({doc, "第二段。还有一句"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json got = json::parse(r.out);
  EXPECT_EQ(got["sentences"], 6);
  ASSERT_EQ(got["summary"].size(), 2u);
  EXPECT_LT(got["summary"][0]["index"].get<int>(), got["summary"][1]["index"].get<int>());
  for (const json& s : got["summary"]) {
    const int i = s["index"];
    EXPECT_EQ(s["line"], i < 4 ? 1 : 2);
  }
}

TEST_F(SimilarityCli, EmbedOptionsAndLineErrors) {
  // --normalize gives unit vectors in the direction of the plain ones.
  const auto plain = embed(kBertZh, {"很好用", "不太行"});
  const auto unit = embed(kBertZh, {"很好用", "不太行"}, "--normalize");
  for (size_t i = 0; i < 2; ++i) {
    double norm = 0, plain_norm = 0;
    for (size_t h = 0; h < unit[i].size(); ++h) {
      norm += unit[i][h] * unit[i][h];
      plain_norm += plain[i][h] * plain[i][h];
    }
    EXPECT_NEAR(norm, 1, 1e-5);
    for (size_t h = 0; h < unit[i].size(); ++h) EXPECT_NEAR(unit[i][h], plain[i][h] / std::sqrt(plain_norm), 1e-5);
  }

  // Pooler pooling = forward's tanh pooled output; mean = the mean of forward's hidden rows.
  const json encoded = tokenize(kBertZh, "很好用");
  const json fw = forward(kBertZh, encoded);
  EXPECT_LE(max_abs_diff(embed(kBertZh, {"很好用"}, "--pooling pooler")[0], fw["pooled"][0]), 1e-5);
  EXPECT_LE(max_abs_diff(json(plain[0]), json(mean_of_rows(fw["last_hidden_state"][0]))), 1e-5);

  // TEXT arguments work like JSONL input.
  CliResult r = run_cli(dir_, "embed --model " + quote(kBertZh) + " 很好用 不太行");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_lines(r.out).size(), 2u);

  // One output per non-blank line, in order; bad lines become {"line", "error"}, exit 1.
  r = run_cli(dir_, "embed --model " + quote(kBertZh),
              "{\"text\": \"好\"}\nnot json\n\n[1]\n{\"x\": 1}\n{\"text\": 3}\n{\"text\": \"差\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  const auto rows = parse_lines(r.out);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0]["text"], "好");
  EXPECT_EQ(rows[1]["line"], 2);
  EXPECT_EQ(rows[2]["line"], 4);
  EXPECT_EQ(rows[3]["line"], 5);
  EXPECT_NE(rows[3]["error"].get<std::string>().find("\"text\""), std::string::npos);
  EXPECT_EQ(rows[4]["line"], 6);
  EXPECT_EQ(rows[5]["text"], "差");
  EXPECT_TRUE(rows[5].contains("embedding"));

  // Past one 2048-line chunk: still one output per line, in order.
  std::string many;
  for (int i = 0; i < 2100; ++i) many += json{{"text", "第" + std::to_string(i) + "句"}}.dump() + "\n";
  r = run_cli(dir_, "embed --model " + quote(kBertZh), many);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto all = parse_lines(r.out);
  ASSERT_EQ(all.size(), 2100u);
  for (int i = 0; i < 2100; i += 97) EXPECT_EQ(all[i]["text"], "第" + std::to_string(i) + "句");
  EXPECT_EQ(all[2099]["text"], "第2099句");

  // --field picks another JSONL field; empty input gives empty output.
  r = run_cli(dir_, "embed --model " + quote(kBertZh) + " --field sentence", "{\"sentence\": \"好\"}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_cli(dir_, "embed --format json --model " + quote(kBertZh), "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(json::parse(r.out), json::array());
}

TEST_F(SimilarityCli, RankReportsBadLinesAfterTheRanking) {
  const CliResult r = run_cli(dir_, "rank --model " + quote(kBertZh) + " --query 好 --distance geodesic --k 1",
                              "{\"text\": \"好\"}\n{oops\n{\"text\": \"差\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  const auto rows = parse_lines(r.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["text"], "好");  // the query itself: distance 0
  EXPECT_NEAR(rows[0]["distance"].get<double>(), 0, 1e-6);
  EXPECT_EQ(rows[2]["line"], 2);
  EXPECT_TRUE(rows[2].contains("error"));
}

TEST_F(SimilarityCli, UsageAndModelErrorsAreOneLine) {
  const std::string zh = quote(kBertZh);
  const struct {
    std::string args;
    int code;
  } cases[] = {
      {"rank --model " + zh + " 好", 2},                  // no --query
      {"rank --model " + zh + " --query q --k 0 好", 2},  // k must be >= 1
      {"rank --model " + zh + " --query q --distance euclid 好", 2},
      {"embed --model " + zh + " --pooling max 好", 2},
      {"embed --model " + zh + " --format csv 好", 2},
      {"embed --model " + zh + " --max-length 1 好", 2},
      {"embed --model " + zh + " --overlength drop 好", 2},
      {"embed --model " + zh + " --input /nonexistent/x.jsonl", 3},
      {"embed --model " + zh + " --input /dev/null 好", 2},  // both TEXT and --input
      {"embed --model /nonexistent 好", 3},
      {"embed --model " + quote(kRoformerV2) + " --pooling pooler 好", 3},  // no pooler
      {"pair-score --model " + zh, 3},                                      // no classifier head
      {"embed --model " + zh + " --logn-scale 1 好", 2},                    // m must be > 1
      {"summarize --model " + zh + " -n 0", 2},
  };
  for (const auto& c : cases) {
    const CliResult r = run_cli(dir_, c.args, "{\"sentence1\": \"a\", \"sentence2\": \"b\"}\n");
    EXPECT_EQ(r.exit_code, c.code) << c.args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("nspbert: ", 0), 0u) << r.err;
  }
}

TEST_F(SimilarityCli, PairScoreWithClassifierHeads) {
  const json pairs[] = {{{"sentence1", "陈情令好不好看"}, {"sentence2", "陈情令好看不好看"}},
                        {{"sentence1", "我居然敢撩你"}, {"sentence2", "你居然敢撩我"}},
                        {{"sentence1", "毛泽东字什么"}, {"sentence2", "顶个诸葛亮"}}};
  std::string input;
  for (const json& p : pairs) input += p.dump() + "\n";
  // Pooled outputs of the unmodified checkpoint, through `nspbert forward`.
  std::vector<std::vector<double>> pooled;
  for (const json& p : pairs) {
    const std::string b = p["sentence2"];
    pooled.push_back(forward(kBertZh, tokenize(kBertZh, p["sentence1"], &b))["pooled"][0].get<std::vector<double>>());
  }
  const int64_t H = static_cast<int64_t>(pooled[0].size());
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.5f);

  for (int64_t C : {1, 2}) {
    std::vector<float> w(C * H), bias(C);
    for (auto& x : w) x = normal(rng);
    for (auto& x : bias) x = normal(rng);
    const fs::path model = dir_ / ("cross_encoder_" + std::to_string(C));
    add_classifier(kBertZh, model, w, bias);
    const CliResult r = run_cli(dir_, "pair-score --model " + quote(model.string()), input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = parse_lines(r.out);
    ASSERT_EQ(rows.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      std::vector<double> logits(C);
      for (int64_t c = 0; c < C; ++c) {
        logits[c] = bias[c];
        for (int64_t h = 0; h < H; ++h) logits[c] += double(w[c * H + h]) * pooled[i][h];
      }
      EXPECT_EQ(rows[i]["a"], pairs[i]["sentence1"]);
      EXPECT_EQ(rows[i]["b"], pairs[i]["sentence2"]);
      EXPECT_LE(max_abs_diff(rows[i]["logits"], json(logits)), 1e-4) << "C " << C;
      if (C == 1) {
        EXPECT_NEAR(rows[i]["score"].get<double>(), logits[0], 1e-4);
        EXPECT_NEAR(rows[i]["probability"].get<double>(), 1 / (1 + std::exp(-logits[0])), 1e-5);
      } else {
        const double p1 = std::exp(logits[1]) / (std::exp(logits[0]) + std::exp(logits[1]));
        EXPECT_NEAR(rows[i]["score"].get<double>(), p1, 1e-5);
      }
    }
    if (C == 2) {
      // Other field names, and a bad line that does not stop the run.
      const CliResult other =
          run_cli(dir_, "pair-score --format json --a-field q --b-field d --model " + quote(model.string()),
                  "{\"q\": \"陈情令好不好看\", \"d\": \"陈情令好看不好看\"}\n{\"q\": \"x\"}\n");
      EXPECT_EQ(other.exit_code, 1);
      const json got = json::parse(other.out);
      ASSERT_EQ(got.size(), 2u);
      EXPECT_NEAR(got[0]["score"].get<double>(), rows[0]["score"].get<double>(), 1e-6);
      EXPECT_EQ(got[1]["line"], 2);
    }
  }

  // Three classes is not a pair scorer.
  add_classifier(kBertZh, dir_ / "three", std::vector<float>(3 * H, 0.1f), {0, 0, 0});
  const CliResult r = run_cli(dir_, "pair-score --model " + quote((dir_ / "three").string()), input);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("3 outputs"), std::string::npos) << r.err;
}

TEST_F(SimilarityCli, AbsolutePositionsTruncateOrRefuse) {
  std::string text;
  for (int i = 0; i < 700; ++i) text += "好";
  const std::string input = texts_jsonl({text, "短句"});
  const std::string zh = quote(kBertZh);

  // Default: cut at the 512-entry table, with one note on stderr; same vectors as --max-length 512.
  CliResult r = run_cli(dir_, "embed --model " + zh, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 of 2 sequences were cut to 512 tokens"), std::string::npos) << r.err;
  const auto cut = parse_lines(r.out);
  r = run_cli(dir_, "embed --model " + zh + " --max-length 512", input);
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_LE(max_abs_diff(parse_lines(r.out)[0]["embedding"], cut[0]["embedding"]), 1e-6);

  // --overlength error refuses that line, names the table, keeps going.
  r = run_cli(dir_, "embed --model " + zh + " --overlength error", input);
  EXPECT_EQ(r.exit_code, 1);
  auto rows = parse_lines(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0]["error"].get<std::string>().find("position table (512)"), std::string::npos);
  EXPECT_TRUE(rows[1].contains("embedding"));
  // ... unless --max-length keeps it inside the table.
  r = run_cli(dir_, "embed --model " + zh + " --overlength error --max-length 100", input);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // A --max-length past the table is still refused (error) or cut (truncate).
  r = run_cli(dir_, "embed --model " + zh + " --overlength error --max-length 600", input);
  EXPECT_EQ(r.exit_code, 1);
  r = run_cli(dir_, "embed --model " + zh + " --max-length 600", input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("cut to 512"), std::string::npos);

  // A query past the table under --overlength error stops rank with one line.
  r = run_cli(dir_, "rank --model " + zh + " --overlength error --query " + quote(text), texts_jsonl({"短句"}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("query"), std::string::npos);
}

TEST_F(SimilarityCli, RopeModelsTakeAnyLengthAndTheLengthOptions) {
  // 1700 characters: past roformer-v2-zh-tiny's training length of 1536, no table to run out of.
  std::string long_text;
  const char* characters[] = {"好", "差", "中"};
  for (int i = 0; i < 1700; ++i) long_text += characters[i % 3];
  const std::string v2 = quote(kRoformerV2);
  CliResult r = run_cli(dir_, "embed --model " + v2 + " --overlength error", texts_jsonl({long_text}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("longer than the training length (1536"), std::string::npos) << r.err;
  const json plain = parse_lines(r.out)[0]["embedding"];

  // --logn-scale with no value = m is the training length; with a value, that m.
  r = run_cli(dir_, "embed --model " + v2 + " --logn-scale", texts_jsonl({long_text}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // a remedy is on: no note
  const json logn_default = parse_lines(r.out)[0]["embedding"];
  r = run_cli(dir_, "embed --model " + v2 + " --logn-scale 1536", texts_jsonl({long_text}));
  EXPECT_LE(max_abs_diff(parse_lines(r.out)[0]["embedding"], logn_default), 1e-7);
  EXPECT_GT(max_abs_diff(logn_default, plain), 1e-6);

  // Window and log-n reach the encoder exactly as `forward` applies them (a shorter text).
  const std::string text = "屏幕很清楚，电池不耐用，客服态度很好，物流太慢了";
  const json encoded = tokenize(kRoformerV2, text);
  ASSERT_GT(encoded["ids"].size(), 16u);
  for (const std::string options : {"--attention-window 3", "--logn-scale 8", "--hwfa --attention-window 2",
                                    "--attention-window 4 --logn-scale 6"}) {
    const json fw = forward(kRoformerV2, encoded, options);
    const auto got = embed(kRoformerV2, {text}, options);
    EXPECT_LE(max_abs_diff(json(got[0]), json(mean_of_rows(fw["last_hidden_state"][0]))), 1e-5) << options;
  }
  // The window is what the fixture contract means by it: compare with a forward request option.
  json request = {{"input_ids", {encoded["ids"]}}, {"options", {{"window", 3}}}};
  write_file(dir_ / "window.json", request.dump());
  r = run_cli(dir_, "forward --no-stats --model " + v2 + " --input " + quote((dir_ / "window.json").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto windowed = embed(kRoformerV2, {text}, "--attention-window 3");
  EXPECT_LE(max_abs_diff(json(windowed[0]), json(mean_of_rows(json::parse(r.out)["last_hidden_state"][0]))), 1e-5);
  const auto unwindowed = embed(kRoformerV2, {text});
  EXPECT_GT(max_abs_diff(json(windowed[0]), json(unwindowed[0])), 1e-4);

  // Every encoder-running command of this issue takes the options.
  for (const std::string cmd : {"rank --query 好", "summarize"}) {
    r = run_cli(dir_, cmd + " --model " + v2 + " --hwfa --attention-window 8 --logn-scale 64",
                texts_jsonl({text, "好"}));
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
  }
}

}  // namespace

// --output and --resume as for score: the file is written via FILE.partial, and a run cut in the
// middle of a line continues to exactly the uninterrupted output (here: standard output).
TEST_F(SimilarityCli, EmbedAndPairScoreWriteOutputViaPartialAndResume) {
  const fs::path cross_encoder = dir_ / "cross_encoder";
  add_classifier(kBertZh, cross_encoder, std::vector<float>(2 * 32, 0.02f), {0.3f, -0.2f});
  std::string input;
  for (const char* text : {"很好用", "不太行", "", "还可以吧", "质量一般般", "物流很快"})
    input += json{{"text", text}, {"other", std::string(text) + "！"}}.dump() + "\n";
  input += "\n{oops\n{\"text\": \"最后一行\", \"other\": \"最后\"}\n";
  write_file(dir_ / "in.jsonl", input);
  const std::string in = " --input " + quote((dir_ / "in.jsonl").string());
  for (const std::string& command :
       {"embed --model " + quote(kBertZh) + in,
        "pair-score --a-field text --b-field other --model " + quote(cross_encoder.string()) + in}) {
    SCOPED_TRACE(command.substr(0, 10));
    const CliResult to_stdout = run_cli(dir_, command);
    ASSERT_EQ(to_stdout.exit_code, 1) << to_stdout.err;  // the {oops line
    ASSERT_EQ(parse_lines(to_stdout.out).size(), 8u);
    const fs::path out = dir_ / "out.jsonl", resumed = dir_ / "resumed.jsonl";
    const CliResult to_file = run_cli(dir_, command + " --output " + quote(out.string()));
    EXPECT_EQ(to_file.exit_code, 1);
    EXPECT_EQ(to_file.out, "");
    EXPECT_EQ(slurp(out), to_stdout.out);
    EXPECT_FALSE(fs::exists(out.string() + ".partial"));

    // What a killed run leaves: two complete lines and half of the third.
    const size_t third = to_stdout.out.find('\n', to_stdout.out.find('\n') + 1) + 1;
    write_file(resumed.string() + ".partial", to_stdout.out.substr(0, third + 5));
    const CliResult resume = run_cli(dir_, command + " --output " + quote(resumed.string()) + " --resume");
    EXPECT_EQ(resume.exit_code, 1) << resume.err;
    EXPECT_EQ(slurp(resumed), to_stdout.out);
    EXPECT_FALSE(fs::exists(resumed.string() + ".partial"));

    const CliResult json_resume =
        run_cli(dir_, command + " --format json --output " + quote(resumed.string()) + " --resume");
    EXPECT_EQ(json_resume.exit_code, 2);
    EXPECT_NE(json_resume.err.find("--resume needs --format jsonl"), std::string::npos) << json_resume.err;
  }
}
