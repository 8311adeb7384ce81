#pragma once
// The cascade (--rescore-top K, --rescore-margin M): every label is scored in the model's fast
// precision (bf16 or int8), then a second copy of the model in f32 scores again only what decides
// a line: its K best labels or candidates (candidates-contrast), or its pair score when it lies near
// a cut point (samples-contrast). Low precision moves a score by about 1e-2 while the two best
// labels of a line often lie closer than that, so re-scoring the few contenders gives f32's labels
// at close to the fast precision's cost. Memory: the f32 copy holds every encoder weight in f32
// beside the fast copy (4 bytes per parameter); the tokenizer is shared.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "models/zero_shot/nsp_scorer.h"
#include "models/zero_shot/task_scorers.h"
#include "models/zero_shot/task_spec.h"
#include "models/zero_shot/thresholds.h"

namespace nspbert::zero_shot {

struct CascadeOptions {
  std::optional<int64_t> rescore_top;  // candidates-contrast: re-score the K best of a line (K >= 1)
  // Re-score only lines decided by less than M: candidates-contrast, best minus second score;
  // samples-contrast, the logit gap's distance to the nearest cut point. Unset: every line (C-C).
  std::optional<double> rescore_margin;
  bool on() const { return rescore_top.has_value() || rescore_margin.has_value(); }
};

// Usage errors for the flag combinations. `has_cut_points`: a samples-contrast run has (or fits)
// thresholds; equal-size bins have no fixed cut to re-decide near.
void check_cascade(const CascadeOptions& options, const TaskSpec& spec, bool has_cut_points);
// Usage error when the model already runs in f32: there is no fast score to re-score from.
void check_cascade_precision(Precision fast, const CascadeOptions& options);

struct CascadeStats {
  int64_t lines = 0, lines_rescored = 0;    // scored lines, and those re-scored in f32
  int64_t scores = 0, scores_rescored = 0;  // label, candidate or pair scores
};
// One line for stderr: "cascade: re-scored 1920 of 14400 scores in f32 (on 960 of 960 lines)".
std::string describe(const CascadeStats& stats);

// The f32 copy of `fast`: the same folder without its tokenizer (`fast`'s serves both). Usage error
// when `fast` runs in f32 already.
Model load_f32_copy(const Model& fast, const CascadeOptions& options);

struct LineResult;  // task_runner.h

class Cascade {
 public:
  // Builds the task's scorer, calibration included, on `f32` (load_f32_copy of `fast`; loaded here
  // when null) with `fast`'s tokenizer.
  Cascade(const TaskSpec& spec, const Model& fast, CascadeOptions options, const BatchPlan& plan,
          std::shared_ptr<const Model> f32 = nullptr);

  const TaskScorers& f32_scorers() const { return f32_scorers_; }
  // Re-score the lines that need it, in place: their scores, `rescored` and `predicted`. `lines`
  // are scored lines; texts, clozes and pairs are theirs, in the same order.
  void rescore_prompts(const std::vector<LineResult*>& lines, const std::vector<std::string>& texts) const;
  void rescore_clozes(const std::vector<LineResult*>& lines, const std::vector<ClozeItem>& clozes) const;
  void rescore_pairs(const std::vector<LineResult*>& lines,
                     const std::vector<std::pair<std::string, std::string>>& pairs, const Thresholds& cuts) const;
  CascadeStats stats() const;

 private:
  // The labels of a line to re-score, best first; empty when its margin is wide enough.
  std::vector<size_t> labels_to_rescore(const std::vector<LabelScore>& scores) const;
  void count(const std::vector<LineResult*>& lines, const std::vector<std::vector<size_t>>& rescored) const;

  CascadeOptions options_;
  std::shared_ptr<const Model> f32_;
  TaskScorers f32_scorers_;
  mutable std::atomic<int64_t> lines_{0}, lines_rescored_{0}, scores_{0}, scores_rescored_{0};
};

}  // namespace nspbert::zero_shot
