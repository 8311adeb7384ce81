// The zero-shot library: metrics against hand-computed values, thresholds against brute force,
// task specs, streams, and the scorers against the fixtures or explicit encoder calls built here
// by hand (the truncation rule, the soft positions, the [MASK] slots written out in the test).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"
#include "models/model.h"
#include "models/zero_shot/label_scores.h"
#include "models/zero_shot/metrics.h"
#include "models/zero_shot/mlm_scorer.h"
#include "models/zero_shot/nsp_scorer.h"
#include "models/zero_shot/task_runner.h"
#include "models/zero_shot/task_spec.h"
#include "models/zero_shot/text_table.h"
#include "models/zero_shot/thresholds.h"

using namespace nspbert;
using namespace nspbert::io;
using namespace nspbert::zero_shot;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kZeroShotData = NSPBERT_TEST_DATA;

const Model& zh_model() {
  static const Model model = load_model(kZeroShotData / "fixtures/models/bert-zh-tiny");
  return model;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("nspbert_zero_shot_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// The reference truncation written out: drop the last token of the longer segment, ties from A.
std::vector<int32_t> reference_pair_ids(const Tokenizer& tok, const std::string& a, const std::string& b, size_t maxlen,
                                        std::vector<int32_t>& types) {
  std::vector<int32_t> ia, ib;
  for (const Token& t : tok.tokenize(a)) ia.push_back(t.id);
  for (const Token& t : tok.tokenize(b)) ib.push_back(t.id);
  while (ia.size() + ib.size() + 3 > maxlen) {
    if (ia.size() >= ib.size()) {
      ia.pop_back();
    } else {
      ib.pop_back();
    }
  }
  std::vector<int32_t> ids{tok.special().cls};
  ids.insert(ids.end(), ia.begin(), ia.end());
  ids.push_back(tok.special().sep);
  types.assign(ids.size(), 0);
  ids.insert(ids.end(), ib.begin(), ib.end());
  ids.push_back(tok.special().sep);
  types.resize(ids.size(), 1);
  return ids;
}

// l0 - l1 from one explicit encoder call.
double forward_gap(const Encoder& encoder, const std::vector<int32_t>& ids, const std::vector<int32_t>& types,
                   const std::vector<int64_t>& positions = {}) {
  EncoderInput in;
  in.batch = 1;
  in.seq_len = static_cast<int64_t>(ids.size());
  in.ids = ids;
  in.type_ids = types;
  in.position_ids = positions;
  ForwardRequest req;
  req.want_nsp = true;
  const EncoderOutput out = encoder.forward(in, req);
  return static_cast<double>(out.nsp_logits[0]) - static_cast<double>(out.nsp_logits[1]);
}

NspSettings settings(size_t maxlen, PromptPosition position = PromptPosition::Prefix) {
  NspSettings s;
  s.max_length = maxlen;
  s.position = position;
  return s;
}

}  // namespace

TEST(ZeroShotMetrics, MatchHandComputedValues) {
  // gold/pred worked out on paper: rows gold, columns predicted
  //   [1 1 0]
  //   [0 2 0]
  //   [1 0 2]
  ConfusionMatrix m({"a", "b", "c", "unused"});
  const std::vector<size_t> gold{0, 0, 1, 1, 2, 2, 2}, pred{0, 1, 1, 1, 2, 0, 2};
  for (size_t i = 0; i < gold.size(); ++i) m.add(gold[i], pred[i]);
  EXPECT_EQ(m.total(), 7);
  EXPECT_EQ(m.count(0, 1), 1);
  EXPECT_EQ(m.count(2, 0), 1);
  EXPECT_NEAR(m.accuracy(), 5.0 / 7.0, 1e-12);
  const auto per = m.per_label();
  EXPECT_NEAR(per[0].precision, 0.5, 1e-12);
  EXPECT_NEAR(per[0].recall, 0.5, 1e-12);
  EXPECT_NEAR(per[0].f1, 0.5, 1e-12);
  EXPECT_NEAR(per[1].precision, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(per[1].recall, 1.0, 1e-12);
  EXPECT_NEAR(per[1].f1, 0.8, 1e-12);
  EXPECT_NEAR(per[2].precision, 1.0, 1e-12);
  EXPECT_NEAR(per[2].recall, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(per[2].f1, 0.8, 1e-12);
  EXPECT_EQ(per[2].support, 3);
  EXPECT_EQ(per[1].predicted, 3);
  EXPECT_EQ(per[3].support, 0);
  EXPECT_EQ(per[3].f1, 0.0);
  // The unused label is in neither gold nor predictions: macro-F1 averages the other three.
  EXPECT_NEAR(m.macro_f1(), (0.5 + 0.8 + 0.8) / 3.0, 1e-12);
  const auto j = m.to_json();
  EXPECT_EQ(j["matrix"][2][0], 1);
  EXPECT_EQ(j["labels"][3], "unused");
}

TEST(ZeroShotMetrics, GrowsForPerLineCandidatesAndHandlesEmpty) {
  ConfusionMatrix empty({});
  EXPECT_EQ(empty.accuracy(), 0.0);
  EXPECT_EQ(empty.macro_f1(), 0.0);
  empty.add(6, 2);
  EXPECT_EQ(empty.label_count(), 7u);
  EXPECT_EQ(empty.labels()[6], "6");
  EXPECT_EQ(empty.count(6, 2), 1);
  EXPECT_EQ(empty.accuracy(), 0.0);
}

TEST(ZeroShotThresholds, FitSeparatesCleanScoresAtTheMidpoint) {
  const std::vector<double> scores{0.5, -1.0, 2.0, 0.1, 3.0, -0.5};
  const std::vector<size_t> gold{1, 0, 1, 0, 1, 0};
  const Thresholds t = fit_thresholds(scores, gold, 2);
  ASSERT_EQ(t.cuts.size(), 1u);
  EXPECT_NEAR(t.cuts[0], 0.3, 1e-12);
  EXPECT_EQ(t.accuracy, 1.0);
  EXPECT_EQ(t.assign(0.29), 0u);
  EXPECT_EQ(t.assign(0.31), 1u);
}

TEST(ZeroShotThresholds, FitReachesTheBruteForceOptimumWithThreeLabelsAndTies) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> score(0, 15), label(0, 2);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> scores(40);
    std::vector<size_t> gold(40);
    for (size_t i = 0; i < 40; ++i) {
      gold[i] = static_cast<size_t>(label(rng));
      scores[i] = score(rng) * 0.25 + 0.5 * static_cast<double>(gold[i]);  // ties on purpose
    }
    // Every pair of cut points between distinct scores, counted by a plain loop.
    std::vector<double> cands{-100.0};
    for (double s : scores) cands.push_back(s + 1e-9);
    int64_t best = 0;
    for (double c1 : cands)
      for (double c2 : cands) {
        if (c2 < c1) continue;
        int64_t correct = 0;
        for (size_t i = 0; i < 40; ++i) {
          const size_t pred = scores[i] < c1 ? 0 : scores[i] < c2 ? 1 : 2;
          correct += pred == gold[i];
        }
        best = std::max(best, correct);
      }
    const Thresholds t = fit_thresholds(scores, gold, 3);
    int64_t achieved = 0;
    for (size_t i = 0; i < 40; ++i) achieved += t.assign(scores[i]) == gold[i];
    EXPECT_EQ(achieved, best) << "trial " << trial;
    EXPECT_NEAR(t.accuracy, best / 40.0, 1e-12);
    EXPECT_TRUE(std::is_sorted(t.cuts.begin(), t.cuts.end()));
  }
}

TEST(ZeroShotThresholds, EqualSizeBinsAndJsonRoundTrip) {
  EXPECT_EQ(equal_size_bins({5, 1, 4, 2, 3, 0}, 3), (std::vector<size_t>{2, 0, 2, 1, 1, 0}));
  EXPECT_EQ(equal_size_bins({}, 3), std::vector<size_t>{});
  Thresholds t;
  t.labels = {"0", "1", "2"};
  t.cuts = {-0.5, 1.25};
  t.task = "ocnli";
  const Thresholds back = Thresholds::from_json(json::parse(t.to_json().dump()), "mem");
  EXPECT_EQ(back.labels, t.labels);
  EXPECT_EQ(back.cuts, t.cuts);
  EXPECT_EQ(back.assign(-1), 0u);
  EXPECT_EQ(back.assign(0), 1u);
  EXPECT_EQ(back.assign(2), 2u);
  EXPECT_THROW(Thresholds::from_json(json::parse(R"({"labels":["a","b"],"cuts":[]})"), "x"), Error);
  EXPECT_THROW(Thresholds::from_json(json::parse(R"({"labels":["a","b","c"],"cuts":[2,1]})"), "x"), Error);
  EXPECT_THROW(Thresholds::load("/nonexistent/thresholds.json"), Error);
  EXPECT_THROW(fit_thresholds({}, {}, 2), Error);
}

TEST(ZeroShotLabelScores, CombinationAndCalibrationFollowTheFormulas) {
  const double a = std::log(0.2), b = std::log(0.6);
  EXPECT_NEAR(combine_log_probs({a, b}, Combine::Mean), 0.5 * (a + b), 1e-12);
  EXPECT_NEAR(combine_log_probs({a, b}, Combine::LogSumExp), std::log(0.4), 1e-12);
  EXPECT_NEAR(combine_log_probs({a}, Combine::LogSumExp), a, 1e-12);
  EXPECT_NEAR(log_sigmoid(2.0), std::log(1.0 / (1.0 + std::exp(-2.0))), 1e-12);
  EXPECT_NEAR(log_sigmoid(-800.0), -800.0, 1e-9);  // no overflow
  LabelScore s;
  s.template_log_probs = {a, b};
  s.template_logit_gaps = {1.0, 3.0};
  finish_label_score(s, Combine::Mean, {std::log(0.4), std::log(0.3)});
  EXPECT_NEAR(s.log_prob, 0.5 * (a + b), 1e-12);
  EXPECT_NEAR(s.logit_gap, 2.0, 1e-12);
  EXPECT_NEAR(s.score, 0.5 * (std::log(0.2 / 0.4) + std::log(0.6 / 0.3)), 1e-12);
  std::vector<LabelScore> three(3);
  three[0].score = 0.0;
  three[1].score = std::log(3.0);
  three[2].score = std::log(0.0001);
  const auto p = normalized_probabilities(three);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-12);
  EXPECT_NEAR(p[1] / p[0], 3.0, 1e-9);
  EXPECT_EQ(best_label(three), 1u);
  EXPECT_EQ(ranked_labels(three, 2), (std::vector<size_t>{1, 0}));
}

TEST(ZeroShotTaskSpec, FieldTemplatesRenderNestedFieldsArraysAndBraces) {
  const FieldTemplate t = FieldTemplate::parse("{text}上文中{target.span2_text}是指{{x}}", "test");
  const json line = json::parse(R"({"text": "他来了。", "target": {"span2_text": "他"}})");
  EXPECT_EQ(t.render(line, "，"), "他来了。上文中他是指{x}");
  const FieldTemplate k = FieldTemplate::parse("{keyword}", "test");
  EXPECT_EQ(k.render(json::parse(R"({"keyword": ["a", "b", "c"]})"), "，"), "a，b，c");
  EXPECT_THROW(k.render(json::parse(R"({"keyword": 3})"), ","), LineError);
  EXPECT_THROW(k.render(json::parse(R"({"keyword": ["a", 1]})"), ","), LineError);
  EXPECT_THROW(t.render(json::parse(R"({"text": "x"})"), ","), LineError);
  EXPECT_THROW(FieldTemplate::parse("{unclosed", "test"), Error);
  EXPECT_THROW(FieldTemplate::parse("stray }", "test"), Error);
  EXPECT_EQ(fill_prompt("{label}和{label}", "好"), "好和好");
}

TEST(ZeroShotTaskSpec, ParsesAndRejectsNamingTheField) {
  const json ok = json::parse(R"({"strategy": "candidates-contrast", "templates": "这是{label}",
      "labels": [{"word": "好", "id": 1}, "差"], "text": "{sentence}", "label_field": "label"})");
  const TaskSpec spec = parse_task_spec(ok, "t.json");
  ASSERT_EQ(spec.labels.size(), 2u);
  EXPECT_EQ(spec.labels[0].key, "1");
  EXPECT_EQ(spec.labels[1].key, "差");
  EXPECT_EQ(spec.max_length, 128u);
  auto message = [](json j) {
    try {
      parse_task_spec(j, "t.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json bad = ok;
  bad["colour"] = "red";
  EXPECT_NE(message(bad).find("unknown field 'colour'"), std::string::npos) << message(bad);
  bad = ok;
  bad["templates"] = "no slot";
  EXPECT_NE(message(bad).find("{label}"), std::string::npos) << message(bad);
  bad = ok;
  bad.erase("strategy");
  EXPECT_NE(message(bad).find("'strategy'"), std::string::npos) << message(bad);
  bad = ok;
  bad["labels"] = json::array();
  EXPECT_NE(message(bad).find("no labels"), std::string::npos) << message(bad);
  bad = ok;
  bad["labels"] = json::parse(R"(["a", "a"])");
  EXPECT_NE(message(bad).find("twice"), std::string::npos) << message(bad);
  bad = ok;
  bad["max_length"] = 2;
  EXPECT_NE(message(bad).find("'max_length'"), std::string::npos) << message(bad);
  bad = ok;
  bad["strategy"] = "samples-contrast";
  EXPECT_NE(message(bad).find("segment_a"), std::string::npos) << message(bad);
  bad = ok;
  bad["labels"][0]["colour"] = 1;
  EXPECT_NE(message(bad).find("labels[0]"), std::string::npos) << message(bad);
}

TEST(ZeroShotTaskSpec, EveryShippedSpecLoads) {
  const fs::path tasks = fs::path(NSPBERT_TEST_DATA).parent_path().parent_path() / "tools/tasks";
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(tasks)) {
    const TaskSpec spec = load_task_spec(entry.path());
    EXPECT_EQ(spec.name, entry.path().stem().string());
    ++n;
  }
  EXPECT_EQ(n, 12u);
  EXPECT_EQ(load_task_spec(tasks / "iflytek.json").labels.size(), 119u);
  EXPECT_EQ(load_task_spec(tasks / "csldcp.json").labels.size(), 67u);
  EXPECT_EQ(load_task_spec(tasks / "tnews.json").labels.size(), 15u);
  EXPECT_TRUE(load_task_spec(tasks / "chid.json").candidates->soft_positions);
}

TEST(ZeroShotStream, ReaderYieldsNonBlankLinesWithNumbersAndErrors) {
  std::istringstream in("{\"text\": \"a\"}\n\n   \n[1]\n{bad\n{\"text\": \"b\"}\r\n");
  JsonlReader reader(in, "mem");
  std::vector<JsonlItem> chunk;
  ASSERT_TRUE(reader.read_chunk(2, chunk));
  ASSERT_EQ(chunk.size(), 2u);
  EXPECT_EQ(chunk[0].line, 1);
  EXPECT_EQ(chunk[0].value["text"], "a");
  EXPECT_EQ(chunk[1].line, 4);
  EXPECT_NE(chunk[1].error.find("expected a JSON object"), std::string::npos);
  ASSERT_TRUE(reader.read_chunk(10, chunk));
  ASSERT_EQ(chunk.size(), 2u);
  EXPECT_EQ(chunk[0].line, 5);
  EXPECT_EQ(chunk[0].error.rfind("not valid JSON", 0), 0u) << chunk[0].error;
  EXPECT_EQ(chunk[1].value["text"], "b");
  EXPECT_FALSE(reader.read_chunk(10, chunk));

  std::istringstream again("{}\n\n{}\n{}\n");
  JsonlReader skipper(again, "mem");
  EXPECT_EQ(skipper.skip(2), 2u);
  ASSERT_TRUE(skipper.read_chunk(5, chunk));
  EXPECT_EQ(chunk.size(), 1u);
  EXPECT_EQ(chunk[0].line, 4);
  EXPECT_EQ(skipper.skip(3), 0u);
  EXPECT_THROW(JsonlReader("/nonexistent/input.jsonl"), Error);
}

TEST(ZeroShotStream, OutputIsRenamedWhenCompleteAndResumesAfterATornLine) {
  const fs::path dir = scratch_dir("output");
  const std::string path = (dir / "out.jsonl").string();
  {
    OutputFile out(path, false);
    out.write_line("{\"a\":1}");
    out.flush();
    EXPECT_TRUE(fs::exists(OutputFile::partial_path(path)));
    EXPECT_FALSE(fs::exists(path));
    out.commit();
  }
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(OutputFile::partial_path(path)));
  EXPECT_EQ(slurp(path), "{\"a\":1}\n");

  // An interrupted run: two complete lines, one error line, and half a line.
  std::ofstream(OutputFile::partial_path(path), std::ios::binary)
      << "{\"a\":1}\n{\"line\":2,\"error\":\"x\"}\n{\"a\":3}\n{\"a\":";
  {
    OutputFile out(path, true);
    EXPECT_EQ(out.resumed_lines(), 3u);
    EXPECT_EQ(out.resumed_errors(), 1u);
    out.write_line("{\"a\":4}");
    out.commit();
  }
  EXPECT_EQ(slurp(path), "{\"a\":1}\n{\"line\":2,\"error\":\"x\"}\n{\"a\":3}\n{\"a\":4}\n");
  {
    OutputFile out(path, true);  // resuming a finished file continues it
    EXPECT_EQ(out.resumed_lines(), 4u);
    out.commit();
  }
  EXPECT_EQ(slurp(path), "{\"a\":1}\n{\"line\":2,\"error\":\"x\"}\n{\"a\":3}\n{\"a\":4}\n");
  EXPECT_THROW(OutputFile("", true), Error);
  fs::remove_all(dir);
}

TEST(ZeroShotTextTable, AlignsWideCharacters) {
  EXPECT_EQ(display_width("体育"), 4u);
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(clip_to_width("这是一个很长的句子", 7), "这是一…");
  TextTable t({"label", "n"}, {false, true});
  t.add_row({"体育", "1"});
  t.add_row({"sports", "10"});
  EXPECT_EQ(t.render(), "label    n\n体育     1\nsports  10\n");
}

TEST(ZeroShotNsp, CandidatesContrastReproducesTheNspFixtures) {
  for (const char* name : {"bert-zh-tiny", "bert-en-tiny", "megatron-zh-tiny", "roformer-zh-tiny"}) {
    const json fx = read_json(kZeroShotData / "fixtures/nsp" / (std::string(name) + ".json"));
    const Model model = load_model(kZeroShotData / "fixtures" / fx["model"].get<std::string>());
    for (const json& task : fx["tasks"]) {
      const auto labels = task["labels"].get<std::vector<std::string>>();
      const NspCandidatesScorer scorer(*model.encoder, *model.tokenizer, {task["template"].get<std::string>()}, labels,
                                       settings(task["maxlen"].get<size_t>(), parse_position(task["position"])));
      const auto texts = task["texts"].get<std::vector<std::string>>();
      const auto scores = scorer.score(texts);
      for (size_t i = 0; i < texts.size(); ++i)
        for (size_t k = 0; k < labels.size(); ++k) {
          EXPECT_NEAR(std::exp(scores[i][k].log_prob), task["expect_prob_is_next"][i][k].get<double>(), 1e-3) << name;
          EXPECT_NEAR(scores[i][k].logit_gap, task["expect_logit_gap"][i][k].get<double>(), 1e-3) << name;
        }
      for (size_t i = 0; i < texts.size(); ++i)
        EXPECT_EQ(labels[best_label(scores[i])], task["expect_label"][i].get<std::string>()) << name << " text " << i;
    }
  }
}

TEST(ZeroShotNsp, TruncationFollowsTheReferenceRuleInBothPositions) {
  const Model& m = zh_model();
  const std::string text = "被骑士又一次横扫，凯西教练有可能是那个成为最佳主教练却被解雇的人吗？";
  const std::vector<std::string> labels{"体育", "财经"};
  for (size_t maxlen : {8u, 13u, 20u, 128u})
    for (PromptPosition position : {PromptPosition::Prefix, PromptPosition::Suffix}) {
      const NspCandidatesScorer scorer(*m.encoder, *m.tokenizer, {"这是一则{label}新闻"}, labels,
                                       settings(maxlen, position));
      const auto got = scorer.score({text});
      for (size_t k = 0; k < labels.size(); ++k) {
        const std::string prompt = "这是一则" + labels[k] + "新闻";
        std::vector<int32_t> types;
        const auto ids = position == PromptPosition::Prefix
                             ? reference_pair_ids(*m.tokenizer, prompt, text, maxlen, types)
                             : reference_pair_ids(*m.tokenizer, text, prompt, maxlen, types);
        ASSERT_LE(ids.size(), maxlen);
        EXPECT_NEAR(got[0][k].logit_gap, forward_gap(*m.encoder, ids, types), 1e-4) << "maxlen " << maxlen;
      }
    }
  // A shorter max length changes the scores (the text is cut), a longer one past the text does not.
  const NspCandidatesScorer short_scorer(*m.encoder, *m.tokenizer, {"这是一则{label}新闻"}, labels, settings(12));
  const NspCandidatesScorer long_scorer(*m.encoder, *m.tokenizer, {"这是一则{label}新闻"}, labels, settings(128));
  const NspCandidatesScorer longer_scorer(*m.encoder, *m.tokenizer, {"这是一则{label}新闻"}, labels, settings(256));
  EXPECT_GT(std::abs(short_scorer.score({text})[0][0].logit_gap - long_scorer.score({text})[0][0].logit_gap), 1e-6);
  EXPECT_EQ(long_scorer.score({text})[0][0].logit_gap, longer_scorer.score({text})[0][0].logit_gap);
  EXPECT_THROW(NspCandidatesScorer(*m.encoder, *m.tokenizer, {"{label}"}, labels, settings(1024)), Error);  // past 512
}

TEST(ZeroShotNsp, SeveralTemplatesAndCalibrationCombineTheSingleTemplateScores) {
  const Model& m = zh_model();
  const std::vector<std::string> labels{"体育", "财经", "娱乐"};
  const std::vector<std::string> templates{"这是一则{label}新闻", "{label}"};
  const std::vector<std::string> texts{"梅西超越贝利成为南美射手王", "股市今天大涨"};
  std::vector<std::vector<std::vector<LabelScore>>> single;
  for (const auto& t : templates)
    single.push_back(NspCandidatesScorer(*m.encoder, *m.tokenizer, {t}, labels, settings(32)).score(texts));
  for (Combine how : {Combine::Mean, Combine::LogSumExp}) {
    NspSettings s = settings(32);
    s.combine = how;
    s.calibrate = true;
    const auto both = NspCandidatesScorer(*m.encoder, *m.tokenizer, templates, labels, s).score(texts);
    for (size_t i = 0; i < texts.size(); ++i)
      for (size_t k = 0; k < labels.size(); ++k) {
        std::vector<double> raw, calibrated;
        for (size_t t = 0; t < templates.size(); ++t) {
          const double lp = single[t][i][k].log_prob;
          raw.push_back(lp);
          // The same prompt against an empty text, built here: [CLS] prompt [SEP] [SEP].
          std::vector<int32_t> types;
          const auto ids = reference_pair_ids(*m.tokenizer, fill_prompt(templates[t], labels[k]), "", 32, types);
          calibrated.push_back(lp - log_sigmoid(forward_gap(*m.encoder, ids, types)));
        }
        const double n = static_cast<double>(templates.size());
        auto expect = [&](const std::vector<double>& v) {
          if (how == Combine::Mean) return (v[0] + v[1]) / n;
          return std::log((std::exp(v[0]) + std::exp(v[1])) / n);
        };
        EXPECT_NEAR(both[i][k].log_prob, expect(raw), 1e-6);
        EXPECT_NEAR(both[i][k].score, expect(calibrated), 1e-5);
      }
  }
}

TEST(ZeroShotNsp, SamplesContrastScoresEachPairAsTheReferenceBuildsIt) {
  const Model& m = zh_model();
  const NspPairScorer scorer(*m.encoder, *m.tokenizer, settings(24));
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"村里只有一个土地庙", "村里还有一个土地庙,里面也装饰得十分气派"},
      {"有时候我就有点难过", "话说有时候我就有点难过"}};
  const auto got = scorer.score(pairs);
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::vector<int32_t> types;
    const auto ids = reference_pair_ids(*m.tokenizer, pairs[i].first, pairs[i].second, 24, types);
    const double gap = forward_gap(*m.encoder, ids, types);
    EXPECT_NEAR(got[i].logit_gap, gap, 1e-4);
    EXPECT_NEAR(got[i].prob_is_next, 1.0 / (1.0 + std::exp(-gap)), 1e-4);
  }
}

TEST(ZeroShotCloze, SoftPositionsPutTheCandidateWhereTheBlankWas) {
  const Model& m = zh_model();
  const Tokenizer& tok = *m.tokenizer;
  const auto [left_text, right_text] = split_at_blank("我给你#idiom#了吗", "#idiom#");
  EXPECT_EQ(left_text, "我给你");
  EXPECT_EQ(right_text, "了吗");
  const auto prompt = tok.tokenize("雪中");
  const auto left = tok.tokenize(left_text), right = tok.tokenize(right_text);
  ASSERT_EQ(prompt.size(), 2u);
  ASSERT_EQ(left.size(), 3u);
  ASSERT_EQ(right.size(), 2u);
  const Sequence s = cloze_sequence(tok, prompt, left, right, 128, true);
  // [CLS] 雪 中 [SEP] 我 给 你 了 吗 [SEP] numbered as [CLS] 我 给 你 雪 中 了 吗 [SEP] [SEP].
  EXPECT_EQ(s.position_ids, (std::vector<int64_t>{0, 4, 5, 8, 1, 2, 3, 6, 7, 9}));
  const int32_t cls = tok.special().cls, sep = tok.special().sep;
  EXPECT_EQ(s.ids, (std::vector<int32_t>{cls, prompt[0].id, prompt[1].id, sep, left[0].id, left[1].id, left[2].id,
                                         right[0].id, right[1].id, sep}));
  EXPECT_EQ(s.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_TRUE(cloze_sequence(tok, prompt, left, right, 128, false).position_ids.empty());

  // Too long: a window around the blank, 3 tokens each side for a budget of 11 - 3 - 2 = 6.
  const auto long_left = tok.tokenize("一二三四五六七八九十"), long_right = tok.tokenize("甲乙丙丁戊己庚辛壬癸");
  const Sequence w = cloze_sequence(tok, prompt, long_left, long_right, 11, true);
  ASSERT_EQ(w.ids.size(), 11u);
  EXPECT_EQ(w.ids[4], long_left[7].id);
  EXPECT_EQ(w.ids[6], long_left[9].id);
  EXPECT_EQ(w.ids[7], long_right[0].id);
  EXPECT_EQ(w.ids[9], long_right[2].id);
  std::vector<int64_t> sorted = w.position_ids;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], static_cast<int64_t>(i));  // a permutation of 0..n-1

  EXPECT_THROW(split_at_blank("no blank", "#idiom#"), LineError);
  EXPECT_THROW(split_at_blank("#idiom# twice #idiom#", "#idiom#"), LineError);

  // The scorer's scores are those of the encoder on these sequences.
  const NspClozeScorer scorer(*m.encoder, tok, {"{label}"}, true, settings(128));
  const auto got = scorer.score({ClozeItem{left_text, right_text, {"雪中", "画蛇添足"}}});
  ASSERT_EQ(got[0].size(), 2u);
  EXPECT_NEAR(got[0][0].logit_gap, forward_gap(*m.encoder, s.ids, s.type_ids, s.position_ids), 1e-4);
  const NspClozeScorer plain(*m.encoder, tok, {"{label}"}, false, settings(128));
  EXPECT_GT(std::abs(plain.score({ClozeItem{left_text, right_text, {"雪中"}}})[0][0].logit_gap - got[0][0].logit_gap),
            1e-6);
}

TEST(ZeroShotMlm, LabelScoresAreMeanLogProbsOfTheirTokensInTheMaskSlots) {
  const Model m = load_model(kZeroShotData / "fixtures/models/roformer-v2-zh-tiny");
  const Tokenizer& tok = *m.tokenizer;
  EXPECT_THROW(NspCandidatesScorer(*m.encoder, tok, {"{label}"}, {"好"}, settings(32)), Error);  // no NSP head
  const std::vector<std::string> labels{"好", "很差", "一般般"};
  const std::string text = "这次买的东西质量不错，物流也快";
  for (PromptPosition position : {PromptPosition::Prefix, PromptPosition::Suffix}) {
    MlmSettings s;
    s.max_length = 24;
    s.position = position;
    s.max_slots_per_call = 2;  // forces several encoder calls
    const auto got = MlmPromptScorer(*m.encoder, tok, {"东西{label}啊"}, labels, s).score({text});
    for (size_t k = 0; k < labels.size(); ++k) {
      // Built by hand: prompt = 东 西 [MASK]*n 啊, the text cut so the whole prompt fits.
      std::vector<int32_t> label_ids, prompt{tok.tokenize("东西")[0].id, tok.tokenize("东西")[1].id};
      for (const Token& t : tok.tokenize(labels[k])) label_ids.push_back(t.id);
      for (size_t i = 0; i < label_ids.size(); ++i) prompt.push_back(tok.special().mask);
      prompt.push_back(tok.tokenize("啊")[0].id);
      std::vector<int32_t> text_ids;
      for (const Token& t : tok.tokenize(text)) text_ids.push_back(t.id);
      text_ids.resize(std::min(text_ids.size(), 24 - 3 - prompt.size()));
      const auto& a = position == PromptPosition::Prefix ? prompt : text_ids;
      const auto& b = position == PromptPosition::Prefix ? text_ids : prompt;
      EncoderInput in;
      in.ids.push_back(tok.special().cls);
      in.ids.insert(in.ids.end(), a.begin(), a.end());
      in.ids.push_back(tok.special().sep);
      in.type_ids.assign(in.ids.size(), 0);
      in.ids.insert(in.ids.end(), b.begin(), b.end());
      in.ids.push_back(tok.special().sep);
      in.type_ids.resize(in.ids.size(), 1);
      in.batch = 1;
      in.seq_len = static_cast<int64_t>(in.ids.size());
      ForwardRequest req;
      const int64_t first = position == PromptPosition::Prefix ? 3 : 1 + static_cast<int64_t>(text_ids.size()) + 1 + 2;
      for (size_t i = 0; i < label_ids.size(); ++i) req.mlm_positions.emplace_back(0, first + static_cast<int64_t>(i));
      const EncoderOutput out = m.encoder->forward(in, req);
      double sum = 0;
      for (size_t i = 0; i < label_ids.size(); ++i) {
        EXPECT_EQ(in.ids[first + i], tok.special().mask);
        sum += out.mlm_log_probs[i][label_ids[i]];
      }
      EXPECT_NEAR(got[0][k].log_prob, sum / static_cast<double>(label_ids.size()), 1e-4) << labels[k];
    }
  }
  EXPECT_THROW(MlmPromptScorer(*m.encoder, tok, {"{label}{label}"}, labels, MlmSettings{}), Error);
  EXPECT_THROW(MlmPromptScorer(*zh_model().encoder, tok, {"{label}"}, {" "}, MlmSettings{}), Error);  // no tokens
}

TEST(ZeroShotRunner, LinesThatCannotBeReadFailAloneAndTheRestAreScored) {
  const fs::path tasks = fs::path(NSPBERT_TEST_DATA).parent_path().parent_path() / "tools/tasks";
  const TaskRunner runner(load_task_spec(tasks / "chid.json"), zh_model(), RunnerOptions{});
  std::istringstream in(
      R"({"id": 1, "candidates": ["画蛇添足", "雪中送炭"], "content": "有时候我给你#idiom#,但你", "answer": 1})"
      "\n"
      R"({"id": 2, "candidates": ["画蛇添足"], "content": "no blank here", "answer": 0})"
      "\n"
      R"({"id": 3, "candidates": "x", "content": "#idiom#", "answer": 0})"
      "\n"
      R"({"id": 4, "candidates": ["画蛇添足", "雪中送炭"], "content": 7, "answer": 0})"
      "\n"
      R"({"id": 5, "candidates": ["画蛇添足", "雪中送炭"], "content": "#idiom#了", "answer": 9})"
      "\n");
  JsonlReader reader(in, "mem");
  std::vector<LineResult> results;
  const StreamSummary summary =
      score_stream(runner, reader, 2, nullptr, [&](const LineResult& r) { results.push_back(r); });
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(summary.failed, 3);
  EXPECT_TRUE(results[0].error.empty());
  EXPECT_EQ(results[0].gold_index, 1);
  EXPECT_EQ(results[0].scores.size(), 2u);
  EXPECT_NE(results[1].error.find("blank"), std::string::npos);
  EXPECT_NE(results[2].error.find("candidates"), std::string::npos);
  EXPECT_NE(results[3].error.find("not a string"), std::string::npos);
  EXPECT_TRUE(results[4].error.empty());
  EXPECT_EQ(results[4].gold_index, -1);
  EXPECT_NE(results[4].gold_error.find("candidate index"), std::string::npos);
  const auto j = runner.to_json(results[1]);
  EXPECT_EQ(j["line"], 2);
  EXPECT_EQ(j["id"], 2);
}
