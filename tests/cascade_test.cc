// The cascade (models/zero_shot/cascade.h): an int8 model whose deciding labels are re-scored by its
// f32 copy. Expected values come from the NSP fixtures (tests/data/fixtures/nsp, written by the
// PyTorch reference) and, for samples-contrast, from one explicit f32 encoder call per pair built
// here by the reference truncation rule; the comparisons with a plain int8 run are consistency checks.
#include "models/zero_shot/cascade.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"
#include "models/model.h"
#include "models/zero_shot/task_overrides.h"
#include "models/zero_shot/task_runner.h"

using namespace nspbert;
using namespace nspbert::zero_shot;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kData = NSPBERT_TEST_DATA;
const fs::path kTasks = fs::path(NSPBERT_TEST_DATA).parent_path().parent_path() / "tools/tasks";
constexpr double kFixtureTolerance = 1e-3;  // as the f32 fixture tests (zero_shot_test.cc)

const Model& tiny(Precision precision) {
  static const Model f32 = load_model(kData / "fixtures/models/bert-zh-tiny");
  static const Model int8 = load_model(kData / "fixtures/models/bert-zh-tiny", LoadOptions{0, true, Precision::Int8});
  return precision == Precision::F32 ? f32 : int8;
}

json fixture() {
  std::ifstream in(kData / "fixtures/nsp/bert-zh-tiny.json");
  return json::parse(in);
}

TaskSpec fixture_task(const json& task) {
  TaskSpec spec = classify_task(task["labels"].get<std::vector<std::string>>(), "text");
  spec.templates = {task["template"].get<std::string>()};
  spec.position = parse_position(task["position"]);
  spec.max_length = task["maxlen"].get<size_t>();
  return spec;
}

std::vector<io::JsonlItem> items(const std::vector<std::string>& texts) {
  std::vector<io::JsonlItem> out;
  for (size_t i = 0; i < texts.size(); ++i) out.push_back({static_cast<int64_t>(i + 1), json{{"text", texts[i]}}, {}});
  return out;
}

RunnerOptions cascade(std::optional<int64_t> top, std::optional<double> margin = std::nullopt) {
  RunnerOptions o;
  o.cascade.rescore_top = top;
  o.cascade.rescore_margin = margin;
  return o;
}

std::vector<LineResult> run(const json& task, const RunnerOptions& options) {
  const TaskRunner runner(fixture_task(task), tiny(Precision::Int8), options);
  return runner.score(items(task["texts"].get<std::vector<std::string>>()));
}

// Each listed label's NSP values against the fixture's f32 values.
void expect_fixture_scores(const json& task, size_t text, const LineResult& r, const std::vector<size_t>& labels) {
  for (size_t k : labels) {
    EXPECT_NEAR(std::exp(r.scores[k].log_prob), task["expect_prob_is_next"][text][k].get<double>(), kFixtureTolerance)
        << "text " << text << " label " << k;
    EXPECT_NEAR(r.scores[k].logit_gap, task["expect_logit_gap"][text][k].get<double>(), kFixtureTolerance);
  }
}

std::string predicted_word(const json& task, const LineResult& r) {
  return task["labels"][static_cast<size_t>(r.predicted)].get<std::string>();
}

}  // namespace

TEST(Cascade, RescoringEveryLabelGivesTheFixtureF32ScoresAndLabels) {
  const json fx = fixture();  // alive for the loop: a range over a temporary's member would dangle
  for (const json& task : fx["tasks"]) {
    const size_t labels = task["labels"].size();
    const std::vector<LineResult> got = run(task, cascade(static_cast<int64_t>(labels)));
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(got[i].error.empty()) << got[i].error;
      EXPECT_EQ(got[i].rescored.size(), labels);
      expect_fixture_scores(task, i, got[i], every_label(1, labels)[0]);
      EXPECT_EQ(predicted_word(task, got[i]), task["expect_label"][i].get<std::string>()) << "text " << i;
    }
  }
}

TEST(Cascade, TopTwoCarryF32ScoresAndDecideTheLabelTheOthersKeepInt8Scores) {
  const json fx = fixture();  // alive for the loop: a range over a temporary's member would dangle
  for (const json& task : fx["tasks"]) {
    const std::vector<LineResult> got = run(task, cascade(2));
    const std::vector<LineResult> plain = run(task, RunnerOptions{});
    size_t fixture_label = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].rescored.size(), 2u);
      EXPECT_EQ(got[i].rescored, ranked_labels(plain[i].scores, 2));  // the int8 run's two best
      expect_fixture_scores(task, i, got[i], got[i].rescored);
      // The prediction is the fixture's best among the two re-scored labels: the fixture's own label
      // whenever int8 ranked it in its top two (on this random tiny model not always).
      size_t want = got[i].rescored[0];
      for (size_t k : got[i].rescored)
        if (task["expect_logit_gap"][i][k].get<double>() > task["expect_logit_gap"][i][want].get<double>()) want = k;
      EXPECT_EQ(static_cast<size_t>(got[i].predicted), want) << "text " << i;
      const bool fixture_label_rescored = std::any_of(got[i].rescored.begin(), got[i].rescored.end(), [&](size_t k) {
        return task["labels"][k] == task["expect_label"][i];
      });
      if (fixture_label_rescored) {
        EXPECT_EQ(task["labels"][want], task["expect_label"][i]) << "text " << i;
        ++fixture_label;
      }
      EXPECT_EQ(ranked_labels(got[i], 1)[0], static_cast<size_t>(got[i].predicted));
      for (size_t k = 0; k < got[i].scores.size(); ++k)
        if (std::find(got[i].rescored.begin(), got[i].rescored.end(), k) == got[i].rescored.end())
          EXPECT_EQ(got[i].scores[k].score, plain[i].scores[k].score);
    }
    std::printf("[ note     ] %zu of %zu texts had the fixture's label among int8's top two\n", fixture_label,
                got.size());
    EXPECT_GT(fixture_label, 0u);
  }
}

TEST(Cascade, MarginPicksTheLinesHugeRescoresEveryLineZeroNone) {
  const json task = fixture()["tasks"][0];
  const std::vector<std::string> texts = task["texts"].get<std::vector<std::string>>();
  const std::vector<LineResult> plain = run(task, RunnerOptions{});
  const TaskRunner huge(fixture_task(task), tiny(Precision::Int8), cascade(2, 1e9));
  const std::vector<LineResult> all = huge.score(items(texts));
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].rescored.size(), 2u);
    expect_fixture_scores(task, i, all[i], all[i].rescored);
  }
  EXPECT_EQ(huge.cascade_stats()->lines_rescored, static_cast<int64_t>(texts.size()));
  EXPECT_EQ(huge.cascade_stats()->scores_rescored, static_cast<int64_t>(2 * texts.size()));

  const TaskRunner zero(fixture_task(task), tiny(Precision::Int8), cascade(2, 0.0));
  const std::vector<LineResult> none = zero.score(items(texts));
  for (size_t i = 0; i < none.size(); ++i) {
    EXPECT_TRUE(none[i].rescored.empty());
    EXPECT_EQ(none[i].predicted, plain[i].predicted);
    for (size_t k = 0; k < none[i].scores.size(); ++k) EXPECT_EQ(none[i].scores[k].score, plain[i].scores[k].score);
  }
  EXPECT_EQ(zero.cascade_stats()->lines, static_cast<int64_t>(texts.size()));
  EXPECT_EQ(zero.cascade_stats()->lines_rescored, 0);

  // A margin between two lines' int8 gaps re-scores exactly the lines below it.
  std::vector<double> gaps;
  for (const LineResult& r : plain) {
    const auto two = ranked_labels(r.scores, 2);
    gaps.push_back(r.scores[two[0]].score - r.scores[two[1]].score);
  }
  std::vector<double> sorted = gaps;
  std::sort(sorted.begin(), sorted.end());
  const double middle = (sorted[2] + sorted[3]) / 2;
  const std::vector<LineResult> some =
      TaskRunner(fixture_task(task), tiny(Precision::Int8), cascade(2, middle)).score(items(texts));
  for (size_t i = 0; i < some.size(); ++i) EXPECT_EQ(some[i].rescored.empty(), !(gaps[i] < middle)) << "text " << i;
}

namespace {

// [CLS] a [SEP] b [SEP] cut by the reference rule (the longer segment loses its last token, ties
// from a), then l0 - l1 from one explicit f32 encoder call.
double reference_f32_gap(const std::string& a, const std::string& b, size_t maxlen) {
  const Model& m = tiny(Precision::F32);
  std::vector<int32_t> ia, ib;
  for (const Token& t : m.tokenizer->tokenize(a)) ia.push_back(t.id);
  for (const Token& t : m.tokenizer->tokenize(b)) ib.push_back(t.id);
  while (ia.size() + ib.size() + 3 > maxlen) (ia.size() >= ib.size() ? ia : ib).pop_back();
  EncoderInput in;
  in.ids = {m.tokenizer->special().cls};
  in.ids.insert(in.ids.end(), ia.begin(), ia.end());
  in.ids.push_back(m.tokenizer->special().sep);
  in.type_ids.assign(in.ids.size(), 0);
  in.ids.insert(in.ids.end(), ib.begin(), ib.end());
  in.ids.push_back(m.tokenizer->special().sep);
  in.type_ids.resize(in.ids.size(), 1);
  in.batch = 1;
  in.seq_len = static_cast<int64_t>(in.ids.size());
  ForwardRequest req;
  req.want_nsp = true;
  const EncoderOutput out = m.encoder->forward(in, req);
  return static_cast<double>(out.nsp_logits[0]) - static_cast<double>(out.nsp_logits[1]);
}

std::vector<io::JsonlItem> ocnli_lines() {
  io::JsonlReader reader((kData / "fewclue/ocnli.jsonl").string());
  std::vector<io::JsonlItem> all, chunk;
  while (reader.read_chunk(100, chunk)) all.insert(all.end(), chunk.begin(), chunk.end());
  return all;
}

}  // namespace

TEST(Cascade, SamplesContrastRedecidesLinesNearACutWithF32Scores) {
  const TaskSpec spec = load_task_spec(kTasks / "ocnli.json");
  const std::vector<io::JsonlItem> lines = ocnli_lines();
  TaskRunner plain(spec, tiny(Precision::Int8), RunnerOptions{});
  Thresholds cuts;
  cuts.labels = plain.label_keys();
  // Cut points through the int8 scores of lines 1 and 2 (0-based), so those two lie within any margin.
  const std::vector<LineResult> binned = plain.score(lines);  // no thresholds yet: pair scores only
  cuts.cuts = {binned[1].pair->logit_gap, binned[2].pair->logit_gap};
  std::sort(cuts.cuts.begin(), cuts.cuts.end());
  plain.set_thresholds(cuts);
  TaskRunner near(spec, tiny(Precision::Int8), cascade(std::nullopt, 1e-9));
  near.set_thresholds(cuts);
  const std::vector<LineResult> got = near.score(lines), fast = plain.score(lines);
  for (size_t i = 0; i < got.size(); ++i) {
    const json& line = lines[i].value;
    const double f32 = reference_f32_gap(line["sentence2"], line["sentence1"], spec.max_length);
    const bool at_cut = i == 1 || i == 2;
    EXPECT_NEAR(got[i].pair->logit_gap, at_cut ? f32 : fast[i].pair->logit_gap, at_cut ? 1e-4 : 0.0) << i;
    EXPECT_EQ(static_cast<size_t>(got[i].predicted), cuts.assign(got[i].pair->logit_gap));
  }
  EXPECT_EQ(near.cascade_stats()->lines_rescored, 2);

  TaskRunner everything(spec, tiny(Precision::Int8), cascade(1, 1e9));
  everything.set_thresholds(cuts);
  const std::vector<LineResult> all = everything.score(lines);
  for (size_t i = 0; i < all.size(); ++i) {
    const double f32 = reference_f32_gap(lines[i].value["sentence2"], lines[i].value["sentence1"], spec.max_length);
    EXPECT_NEAR(all[i].pair->logit_gap, f32, 1e-4);
    EXPECT_EQ(static_cast<size_t>(all[i].predicted), cuts.assign(f32));
  }
}

TEST(Cascade, CutPointsAreFittedOnF32Scores) {
  const TaskSpec spec = load_task_spec(kTasks / "ocnli.json");
  const std::string dev = (kData / "fewclue/ocnli.jsonl").string();
  const TaskRunner f32(spec, tiny(Precision::F32), RunnerOptions{});
  const TaskRunner cascaded(spec, tiny(Precision::Int8), cascade(std::nullopt, 0.5));
  const Thresholds want = fit_thresholds_on(f32, dev, 7, nullptr), got = fit_thresholds_on(cascaded, dev, 7, nullptr);
  ASSERT_EQ(got.cuts.size(), want.cuts.size());
  for (size_t c = 0; c < want.cuts.size(); ++c) EXPECT_NEAR(got.cuts[c], want.cuts[c], 1e-5);
}

TEST(Cascade, UsageErrors) {
  const TaskSpec cc = load_task_spec(kTasks / "tnews.json"), sc = load_task_spec(kTasks / "ocnli.json");
  auto usage = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.kind() == ErrorKind::Usage;
    }
    return false;
  };
  auto check = [&](std::optional<int64_t> top, std::optional<double> margin, const TaskSpec& spec, bool cuts) {
    return usage([&] { check_cascade(CascadeOptions{top, margin}, spec, cuts); });
  };
  EXPECT_TRUE(check(0, std::nullopt, cc, false));     // K < 1
  EXPECT_TRUE(check(2, -0.5, cc, false));             // negative margin
  EXPECT_TRUE(check(2, std::nan(""), cc, false));     // not a number
  EXPECT_TRUE(check(std::nullopt, 0.5, cc, false));   // margin without K on candidates-contrast
  EXPECT_TRUE(check(2, std::nullopt, sc, true));      // K without margin on samples-contrast
  EXPECT_TRUE(check(std::nullopt, 0.5, sc, false));   // binned samples-contrast
  EXPECT_FALSE(check(100, std::nullopt, cc, false));  // K past the label count: everything
  EXPECT_FALSE(check(std::nullopt, 0.5, sc, true));
  EXPECT_FALSE(check(std::nullopt, std::nullopt, sc, false));                     // off
  EXPECT_TRUE(usage([&] { TaskRunner(cc, tiny(Precision::F32), cascade(2)); }));  // nothing fast to re-score
  const TaskRunner binned(sc, tiny(Precision::Int8), cascade(std::nullopt, 0.5));
  EXPECT_TRUE(usage([&] { binned.score(ocnli_lines()); }));
}
