#include "models/zero_shot/cascade.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "models/zero_shot/task_runner.h"

namespace nspbert::zero_shot {

namespace {

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

// The flag that turned the cascade on, for messages.
const char* cascade_flag(const CascadeOptions& o) { return o.rescore_top ? "--rescore-top" : "--rescore-margin"; }

// The best of the re-scored labels, first on ties: a label that kept its fast score never wins.
size_t best_of(const std::vector<LabelScore>& scores, std::vector<size_t> labels) {
  std::sort(labels.begin(), labels.end());
  size_t best = labels.front();
  for (size_t k : labels)
    if (scores[k].score > scores[best].score) best = k;
  return best;
}

// Puts the f32 scores of each re-scored line in place and decides the line among them.
void merge(const std::vector<LineResult*>& lines, const std::vector<size_t>& which,
           const std::vector<std::vector<size_t>>& labels, std::vector<std::vector<LabelScore>> f32) {
  for (size_t j = 0; j < which.size(); ++j) {
    LineResult& r = *lines[which[j]];
    for (size_t m = 0; m < labels[j].size(); ++m) r.scores[labels[j][m]] = std::move(f32[j][m]);
    r.rescored = labels[j];
    r.predicted = static_cast<int64_t>(best_of(r.scores, labels[j]));
  }
}

double distance_to_cut(double logit_gap, const Thresholds& cuts) {
  double d = INFINITY;
  for (double c : cuts.cuts) d = std::min(d, std::abs(logit_gap - c));
  return d;
}

}  // namespace

void check_cascade(const CascadeOptions& o, const TaskSpec& spec, bool has_cut_points) {
  if (o.rescore_top && *o.rescore_top < 1)
    fail_usage("--rescore-top K must be at least 1, got " + std::to_string(*o.rescore_top));
  if (o.rescore_margin && !(*o.rescore_margin >= 0))  // NaN too
    fail_usage("--rescore-margin M must be a number >= 0, got " + number(*o.rescore_margin));
  if (spec.strategy == Strategy::CandidatesContrast) {
    if (o.rescore_margin && !o.rescore_top)
      fail_usage("--rescore-margin on candidates-contrast task '" + spec.name +
                 "' needs --rescore-top K: how many of a line's best labels to re-score in f32");
    return;
  }
  if (!o.on()) return;
  if (!o.rescore_margin)
    fail_usage("--rescore-top on samples-contrast task '" + spec.name +
               "' needs --rescore-margin M: lines whose logit gap lies within M of a cut point are re-scored in f32");
  if (!has_cut_points)
    fail_usage("the cascade on samples-contrast task '" + spec.name +
               "' needs --thresholds or --fit-on: equal-size bins have no fixed cut points to re-decide near");
}

void check_cascade_precision(Precision fast, const CascadeOptions& options) {
  if (fast == Precision::F32)
    fail_usage(std::string(cascade_flag(options)) +
               " needs a fast --precision (bf16, int8, or auto on a CPU with native bf16): the cascade re-scores from "
               "it in f32");
}

Model load_f32_copy(const Model& fast, const CascadeOptions& options) {
  check_cascade_precision(fast.precision, options);
  LoadOptions load;
  load.need_tokenizer = false;
  load.precision = Precision::F32;
  return load_model(fast.dir, load);  // threads 0: keeps the count the fast load set
}

std::string describe(const CascadeStats& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "cascade: re-scored %lld of %lld scores in f32 (on %lld of %lld lines)",
                static_cast<long long>(s.scores_rescored), static_cast<long long>(s.scores),
                static_cast<long long>(s.lines_rescored), static_cast<long long>(s.lines));
  return buf;
}

Cascade::Cascade(const TaskSpec& spec, const Model& fast, CascadeOptions options, const BatchPlan& plan,
                 std::shared_ptr<const Model> f32)
    : options_(std::move(options)), f32_(std::move(f32)) {
  check_cascade_precision(fast.precision, options_);
  if (!f32_) f32_ = std::make_shared<const Model>(load_f32_copy(fast, options_));
  if (!fast.tokenizer) fail_model("the model was loaded without its tokenizer");
  f32_scorers_ = make_task_scorers(spec, *f32_->encoder, *fast.tokenizer, plan);
}

std::vector<size_t> Cascade::labels_to_rescore(const std::vector<LabelScore>& scores) const {
  if (options_.rescore_margin) {
    const std::vector<size_t> two = ranked_labels(scores, 2);
    if (two.size() < 2 || !(scores[two[0]].score - scores[two[1]].score < *options_.rescore_margin)) return {};
  }
  return ranked_labels(scores, static_cast<size_t>(options_.rescore_top.value_or(1)));
}

void Cascade::rescore_prompts(const std::vector<LineResult*>& lines, const std::vector<std::string>& texts) const {
  std::vector<size_t> which;
  std::vector<std::string> subset;
  std::vector<std::vector<size_t>> labels;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<size_t> top = labels_to_rescore(lines[i]->scores);
    if (top.empty()) continue;
    which.push_back(i);
    subset.push_back(texts[i]);
    labels.push_back(std::move(top));
  }
  if (!which.empty()) merge(lines, which, labels, f32_scorers_.prompt->score_labels(subset, labels));
  count(lines, labels);
}

void Cascade::rescore_clozes(const std::vector<LineResult*>& lines, const std::vector<ClozeItem>& clozes) const {
  std::vector<size_t> which;
  std::vector<ClozeItem> subset;  // each line's text with only the candidates to re-score
  std::vector<std::vector<size_t>> labels;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<size_t> top = labels_to_rescore(lines[i]->scores);
    if (top.empty()) continue;
    ClozeItem item{clozes[i].left, clozes[i].right, {}};
    for (size_t k : top) item.candidates.push_back(clozes[i].candidates[k]);
    which.push_back(i);
    subset.push_back(std::move(item));
    labels.push_back(std::move(top));
  }
  if (!which.empty()) merge(lines, which, labels, f32_scorers_.cloze->score(subset));
  count(lines, labels);
}

void Cascade::rescore_pairs(const std::vector<LineResult*>& lines,
                            const std::vector<std::pair<std::string, std::string>>& pairs,
                            const Thresholds& cuts) const {
  std::vector<size_t> which;
  std::vector<std::pair<std::string, std::string>> subset;
  for (size_t i = 0; i < lines.size(); ++i)
    if (distance_to_cut(lines[i]->pair->logit_gap, cuts) < options_.rescore_margin.value_or(INFINITY)) {
      which.push_back(i);
      subset.push_back(pairs[i]);
    }
  const std::vector<PairScore> f32 = which.empty() ? std::vector<PairScore>{} : f32_scorers_.pair->score(subset);
  for (size_t j = 0; j < which.size(); ++j) {
    lines[which[j]]->pair = f32[j];
    lines[which[j]]->predicted = static_cast<int64_t>(cuts.assign(f32[j].logit_gap));
  }
  lines_ += static_cast<int64_t>(lines.size());
  scores_ += static_cast<int64_t>(lines.size());
  lines_rescored_ += static_cast<int64_t>(which.size());
  scores_rescored_ += static_cast<int64_t>(which.size());
}

void Cascade::count(const std::vector<LineResult*>& lines, const std::vector<std::vector<size_t>>& rescored) const {
  lines_ += static_cast<int64_t>(lines.size());
  for (const LineResult* r : lines) scores_ += static_cast<int64_t>(r->scores.size());
  lines_rescored_ += static_cast<int64_t>(rescored.size());
  for (const auto& labels : rescored) scores_rescored_ += static_cast<int64_t>(labels.size());
}

CascadeStats Cascade::stats() const { return {lines_, lines_rescored_, scores_, scores_rescored_}; }

}  // namespace nspbert::zero_shot
