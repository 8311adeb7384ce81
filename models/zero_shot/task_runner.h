#pragma once
// Runs a task spec over JSONL lines: pulls the text(s), id and gold label out of each line, scores
// the chunk with the scorer the spec asks for (all label x text pairs of a chunk in one encoder
// call), decides the label, and renders the output line. A line that cannot be read or scored
// becomes {"line": N, "error": ...}; the others are unaffected.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/io/jsonl_stream.h"
#include "models/model.h"
#include "models/zero_shot/cascade.h"
#include "models/zero_shot/label_scores.h"
#include "models/zero_shot/mlm_scorer.h"
#include "models/zero_shot/nsp_scorer.h"
#include "models/zero_shot/task_scorers.h"
#include "models/zero_shot/task_spec.h"
#include "models/zero_shot/thresholds.h"

namespace nspbert::zero_shot {

// The stream types of the I/O layer (engine/io) this API takes.
using io::JsonlItem;
using io::JsonlReader;
using io::LineError;
using io::Progress;

struct RunnerOptions {
  BatchPlan plan;          // attention variants and token budget
  size_t top_k = 0;        // 0: every label, in label order; k: the k best, best first
  bool normalize = false;  // add "probability": softmax of the scores over the labels
  bool echo_text = false;  // add "text" (classify)
  CascadeOptions cascade;  // re-score the deciding labels or pairs with an f32 copy (cascade.h)
};

struct LineResult {
  int64_t line = 0;
  nlohmann::json id;                    // null when the line has none
  std::string error;                    // non-empty: the line failed
  std::string text;                     // with echo_text
  std::vector<LabelScore> scores;       // candidates-contrast: per label or per candidate
  std::vector<std::string> candidates;  // this line's candidates (ChID)
  std::optional<PairScore> pair;        // samples-contrast
  nlohmann::json gold;                  // the gold value as in the data; null when absent
  int64_t gold_index = -1;              // -1: no usable gold (gold_error says why when present)
  std::string gold_error;
  int64_t predicted = -1;        // label or candidate index; -1 until decided
  std::vector<size_t> rescored;  // the labels or candidates the cascade re-scored in f32, best first
};

// A line's label (or candidate) indices best first, at most k (0: all). The labels the cascade
// re-scored come before the others, so the first is always the predicted one.
std::vector<size_t> ranked_labels(const LineResult& r, size_t k);

class TaskRunner {
 public:
  // Builds the scorer: fails (usage/model) when the task cannot run on this model. With a cascade
  // it builds the same scorer on `f32_copy` too (load_f32_copy(model); loaded here when null).
  TaskRunner(TaskSpec spec, const Model& model, RunnerOptions options, std::shared_ptr<const Model> f32_copy = nullptr);
  ~TaskRunner();

  const TaskSpec& spec() const { return spec_; }
  std::vector<std::string> label_keys() const;
  bool is_samples_contrast() const { return spec_.strategy == Strategy::SamplesContrast; }

  // Samples-contrast labels from fitted cut points (their labels must be this task's, in order).
  void set_thresholds(Thresholds thresholds);
  const std::optional<Thresholds>& thresholds() const { return thresholds_; }
  // Samples-contrast without thresholds: labels come from equal-size bins over every score.
  bool needs_all_scores() const { return is_samples_contrast() && !thresholds_; }
  void assign_bins(std::vector<LineResult>& results) const;

  // One result per item, in order.
  std::vector<LineResult> score(const std::vector<JsonlItem>& items) const;
  // What cut points are fitted on: with a cascade every line in f32 (so they are the cut points an
  // f32 run fits), else `score`.
  std::vector<LineResult> score_for_fit(const std::vector<JsonlItem>& items) const;
  // How much the cascade re-scored so far; nullopt without one.
  std::optional<CascadeStats> cascade_stats() const;
  nlohmann::ordered_json to_json(const LineResult& result) const;
  // to_json as one output line, exactly as `nspbert score` writes it (invalid UTF-8 replaced).
  std::string to_line(const LineResult& result) const;

 private:
  void read_line(const nlohmann::json& line, LineResult& r, std::string& text,
                 std::pair<std::string, std::string>& pair, ClozeItem& cloze) const;
  std::vector<LineResult> score_lines(const std::vector<JsonlItem>& items, bool f32_only) const;
  void score_valid(std::vector<LineResult*>& results, std::vector<std::string>& texts,
                   std::vector<std::pair<std::string, std::string>>& pairs, std::vector<ClozeItem>& clozes,
                   bool f32_only) const;
  nlohmann::ordered_json label_json(const LineResult& r, size_t k) const;

  TaskSpec spec_;
  RunnerOptions options_;
  TaskScorers scorers_;
  std::unique_ptr<Cascade> cascade_;  // null without --rescore-top/--rescore-margin
  std::optional<Thresholds> thresholds_;
};

struct StreamSummary {
  int64_t lines = 0;
  int64_t failed = 0;
  bool interrupted = false;  // stopped by request_stop() before the input ended
};

// Where a stream's lines come from: replaces `out` with up to `max_items` items, false once nothing
// is left. JsonlReader::read_chunk, or the Python package's iterable of records.
using ItemSource = std::function<bool(size_t max_items, std::vector<JsonlItem>& out)>;

// The pull form of score_stream (which is a loop over it): each next() scores the next chunk and
// returns its results in input order. Samples-contrast without thresholds reads everything first,
// bins, and returns all results in one go. `on_read` sees the running count of items read.
class ResultStream {
 public:
  ResultStream(const TaskRunner& runner, ItemSource source, size_t chunk_lines,
               std::function<void(int64_t items_read)> on_read = {});
  // Replaces `out`; false once the input is done or a stop request (stop_request.h) came first.
  bool next(std::vector<LineResult>& out);
  bool interrupted() const { return interrupted_; }

 private:
  bool read();

  const TaskRunner& runner_;
  ItemSource source_;
  size_t chunk_lines_;
  std::function<void(int64_t)> on_read_;
  std::vector<JsonlItem> items_;
  int64_t read_ = 0;
  bool done_ = false, interrupted_ = false;
};

// Reads the rest of `reader` in chunks of `chunk_lines`, scores them and hands every result to
// `emit` in input order; `chunk_done` runs after each chunk (flush there). Samples-contrast without
// thresholds keeps every line's score (not its text) until the input ends, then bins and emits.
// A stop request (engine/io/stop_request.h) is honoured between chunks; binned samples-contrast then emits nothing.
StreamSummary score_stream(const TaskRunner& runner, JsonlReader& reader, size_t chunk_lines, Progress* progress,
                           const std::function<void(const LineResult&)>& emit,
                           const std::function<void()>& chunk_done = {});

// Scores a labelled file and fits samples-contrast cut points on its gold labels.
Thresholds fit_thresholds_on(const TaskRunner& runner, const std::string& path, size_t chunk_lines, Progress* progress);

}  // namespace nspbert::zero_shot
