#include "models/zero_shot/task_runner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "engine/error.h"
#include "engine/io/stop_request.h"
#include "engine/io/stream.h"

namespace nspbert::zero_shot {

using nlohmann::json;
using nlohmann::ordered_json;

TaskRunner::TaskRunner(TaskSpec spec, const Model& model, RunnerOptions options, std::shared_ptr<const Model> f32_copy)
    : spec_(std::move(spec)), options_(std::move(options)) {
  check_task(spec_);
  if (!model.encoder) fail_model("the model has no encoder loaded");
  if (!model.tokenizer) fail_model("the model was loaded without its tokenizer");
  scorers_ = make_task_scorers(spec_, *model.encoder, *model.tokenizer, options_.plan);
  if (!options_.cascade.on()) return;
  check_cascade(options_.cascade, spec_, /*has_cut_points=*/true);  // cut points come later: checked in score
  cascade_ = std::make_unique<Cascade>(spec_, model, options_.cascade, options_.plan, std::move(f32_copy));
}

TaskRunner::~TaskRunner() = default;

std::vector<std::string> TaskRunner::label_keys() const {
  std::vector<std::string> keys;
  for (const Label& label : spec_.labels) keys.push_back(label.key);
  return keys;
}

void TaskRunner::set_thresholds(Thresholds thresholds) {
  if (!is_samples_contrast())
    fail_usage("thresholds apply to samples-contrast tasks; '" + spec_.name + "' is candidates-contrast");
  if (thresholds.labels != label_keys()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return "[" + s + "]";
    };
    fail_input("the thresholds are for labels " + list(thresholds.labels) + " but task '" + spec_.name + "' has " +
               list(label_keys()));
  }
  thresholds_ = std::move(thresholds);
}

void TaskRunner::read_line(const json& line, LineResult& r, std::string& text,
                           std::pair<std::string, std::string>& pair, ClozeItem& cloze) const {
  if (line.contains(spec_.id_field)) r.id = line[spec_.id_field];
  if (spec_.strategy == Strategy::SamplesContrast) {
    pair.first = spec_.segment_a.render(line, spec_.join);
    pair.second = spec_.segment_b.render(line, spec_.join);
  } else {
    text = spec_.text.render(line, spec_.join);
    if (spec_.candidates) {
      std::tie(cloze.left, cloze.right) = split_at_blank(text, spec_.candidates->blank);
      const std::string& field = spec_.candidates->field;
      if (!line.contains(field)) throw LineError("missing field '" + field + "'");
      const json& c = line[field];
      if (!c.is_array() || c.empty()) throw LineError("field '" + field + "' must be a non-empty array of strings");
      cloze.candidates.clear();
      for (const json& candidate : c) {
        if (!candidate.is_string() || candidate.get_ref<const std::string&>().empty())
          throw LineError("field '" + field + "' must hold non-empty strings");
        cloze.candidates.push_back(candidate.get<std::string>());
      }
      r.candidates = cloze.candidates;
    }
  }
  if (options_.echo_text) r.text = text;
  if (spec_.label_field.empty() || !line.contains(spec_.label_field)) return;
  r.gold = line[spec_.label_field];
  if (spec_.candidates) {
    if (!r.gold.is_number_integer() || r.gold.get<int64_t>() < 0 ||
        r.gold.get<int64_t>() >= static_cast<int64_t>(r.candidates.size())) {
      r.gold_error = "gold '" + spec_.label_field + "' = " + r.gold.dump() + " is not a candidate index (0.." +
                     std::to_string(r.candidates.size() - 1) + ")";
    } else {
      r.gold_index = r.gold.get<int64_t>();
    }
    return;
  }
  const std::optional<std::string> key = label_key(r.gold);
  for (size_t k = 0; key && k < spec_.labels.size(); ++k)
    if (spec_.labels[k].key == *key) r.gold_index = static_cast<int64_t>(k);
  if (r.gold_index < 0) r.gold_error = "gold label " + r.gold.dump() + " is not one of the task's labels";
}

void TaskRunner::score_valid(std::vector<LineResult*>& results, std::vector<std::string>& texts,
                             std::vector<std::pair<std::string, std::string>>& pairs, std::vector<ClozeItem>& clozes,
                             bool f32_only) const {
  if (results.empty()) return;
  const TaskScorers& scorers = f32_only && cascade_ ? cascade_->f32_scorers() : scorers_;
  const Cascade* cascade = f32_only ? nullptr : cascade_.get();
  if (scorers.pair) {
    const std::vector<PairScore> scores = scorers.pair->score(pairs);
    for (size_t i = 0; i < results.size(); ++i) {
      results[i]->pair = scores[i];
      if (thresholds_) results[i]->predicted = static_cast<int64_t>(thresholds_->assign(scores[i].logit_gap));
    }
    if (cascade && thresholds_) cascade->rescore_pairs(results, pairs, *thresholds_);
    return;
  }
  std::vector<std::vector<LabelScore>> scores =
      scorers.cloze ? scorers.cloze->score(clozes) : scorers.prompt->score(texts);
  for (size_t i = 0; i < results.size(); ++i) {
    results[i]->scores = std::move(scores[i]);
    results[i]->predicted = static_cast<int64_t>(best_label(results[i]->scores));
  }
  if (cascade && scorers.cloze) cascade->rescore_clozes(results, clozes);
  if (cascade && scorers.prompt) cascade->rescore_prompts(results, texts);
}

std::vector<LineResult> TaskRunner::score(const std::vector<JsonlItem>& items) const {
  if (cascade_) check_cascade(options_.cascade, spec_, thresholds_.has_value());
  return score_lines(items, /*f32_only=*/false);
}

std::vector<LineResult> TaskRunner::score_for_fit(const std::vector<JsonlItem>& items) const {
  return score_lines(items, /*f32_only=*/true);
}

std::optional<CascadeStats> TaskRunner::cascade_stats() const {
  if (!cascade_) return std::nullopt;
  return cascade_->stats();
}

std::vector<LineResult> TaskRunner::score_lines(const std::vector<JsonlItem>& items, bool f32_only) const {
  std::vector<LineResult> results(items.size());
  std::vector<LineResult*> valid;
  std::vector<std::string> texts;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<ClozeItem> clozes;
  for (size_t i = 0; i < items.size(); ++i) {
    LineResult& r = results[i];
    r.line = items[i].line;
    if (!items[i].error.empty()) {
      r.error = items[i].error;
      continue;
    }
    std::string text;
    std::pair<std::string, std::string> pair;
    ClozeItem cloze;
    try {
      read_line(items[i].value, r, text, pair, cloze);
    } catch (const LineError& e) {
      r.error = e.what();
      continue;
    }
    valid.push_back(&r);
    texts.push_back(std::move(text));
    pairs.push_back(std::move(pair));
    clozes.push_back(std::move(cloze));
  }
  try {
    score_valid(valid, texts, pairs, clozes, f32_only);
  } catch (const Error& e) {
    // Usage and model errors are no line's fault (a vocabulary without [CLS], a missing head):
    // retrying line by line would only repeat them on every line.
    if (e.kind() == ErrorKind::Usage || e.kind() == ErrorKind::Model) throw;
    // Something in the chunk broke the encoder call: score the lines one by one so only the
    // culprit fails.
    for (size_t i = 0; i < valid.size(); ++i) {
      std::vector<LineResult*> one{valid[i]};
      std::vector<std::string> t{texts[i]};
      std::vector<std::pair<std::string, std::string>> p{pairs[i]};
      std::vector<ClozeItem> c{clozes[i]};
      try {
        score_valid(one, t, p, c, f32_only);
      } catch (const Error& single) {
        if (single.kind() == ErrorKind::Usage || single.kind() == ErrorKind::Model) throw;
        valid[i]->error = single.what();
      }
    }
  }
  return results;
}

void TaskRunner::assign_bins(std::vector<LineResult>& results) const {
  std::vector<double> scores;
  std::vector<LineResult*> scored;
  for (LineResult& r : results)
    if (r.error.empty() && r.pair) {
      scores.push_back(r.pair->logit_gap);
      scored.push_back(&r);
    }
  const std::vector<size_t> bins = equal_size_bins(scores, spec_.labels.size());
  for (size_t i = 0; i < scored.size(); ++i) scored[i]->predicted = static_cast<int64_t>(bins[i]);
}

std::vector<size_t> ranked_labels(const LineResult& r, size_t k) {
  std::vector<size_t> order = ranked_labels(r.scores, 0);
  std::stable_partition(order.begin(), order.end(), [&](size_t label) {
    return std::find(r.rescored.begin(), r.rescored.end(), label) != r.rescored.end();
  });
  if (k > 0 && k < order.size()) order.resize(k);
  return order;
}

ordered_json TaskRunner::label_json(const LineResult& r, size_t k) const {
  ordered_json j;
  if (spec_.candidates) {
    j["label"] = k;
    j["word"] = r.candidates[k];
  } else {
    j["label"] = spec_.labels[k].id;
    if (spec_.labels[k].word != spec_.labels[k].key) j["word"] = spec_.labels[k].word;
  }
  return j;
}

std::string TaskRunner::to_line(const LineResult& r) const {
  return to_json(r).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json TaskRunner::to_json(const LineResult& r) const {
  ordered_json out;
  if (!r.error.empty()) {
    out["line"] = r.line;
    if (!r.id.is_null()) out["id"] = r.id;
    out["error"] = r.error;
    return out;
  }
  if (!r.id.is_null()) out["id"] = r.id;
  if (options_.echo_text) out["text"] = r.text;
  if (r.pair) {
    if (r.predicted >= 0) out["label"] = spec_.labels[static_cast<size_t>(r.predicted)].id;
    out["prob_is_next"] = r.pair->prob_is_next;
    out["logit_gap"] = r.pair->logit_gap;
  } else {
    const ordered_json predicted = label_json(r, static_cast<size_t>(r.predicted));
    for (const auto& [key, value] : predicted.items()) out[key] = value;
    const std::vector<double> probability =
        options_.normalize ? normalized_probabilities(r.scores) : std::vector<double>{};
    const bool nsp = spec_.scorer == ScorerKind::Nsp;
    const bool several = spec_.templates.size() > 1;
    std::vector<size_t> order;
    if (options_.top_k > 0) {
      order = ranked_labels(r, options_.top_k);
    } else {
      for (size_t k = 0; k < r.scores.size(); ++k) order.push_back(k);
    }
    ordered_json scores = ordered_json::array();
    for (size_t k : order) {
      const LabelScore& s = r.scores[k];
      ordered_json entry = label_json(r, k);
      if (nsp) {
        entry["prob_is_next"] = std::exp(s.log_prob);
        entry["logit_gap"] = s.logit_gap;
        if (several) entry["template_logit_gaps"] = s.template_logit_gaps;
      } else {
        entry["log_prob"] = s.log_prob;
        if (several) entry["template_log_probs"] = s.template_log_probs;
      }
      entry["score"] = s.score;
      if (options_.normalize) entry["probability"] = probability[k];
      scores.push_back(std::move(entry));
    }
    out["scores"] = std::move(scores);
  }
  if (!r.gold.is_null()) out["gold"] = r.gold;
  return out;
}

ResultStream::ResultStream(const TaskRunner& runner, ItemSource source, size_t chunk_lines,
                           std::function<void(int64_t)> on_read)
    : runner_(runner),
      source_(std::move(source)),
      chunk_lines_(chunk_lines == 0 ? 1 : chunk_lines),
      on_read_(std::move(on_read)) {}

bool ResultStream::read() {
  interrupted_ = io::stop_requested();
  if (interrupted_ || !source_(chunk_lines_, items_)) return false;
  read_ += static_cast<int64_t>(items_.size());
  if (on_read_) on_read_(read_);
  return true;
}

bool ResultStream::next(std::vector<LineResult>& out) {
  out.clear();
  if (done_) return false;
  if (!runner_.needs_all_scores()) {
    if (read()) {
      out = runner_.score(items_);
      return true;
    }
    done_ = true;
    return false;
  }
  // Equal-size bins need every score: keep the results (scores, not texts) until the input ends.
  while (read())
    for (LineResult& r : runner_.score(items_)) out.push_back(std::move(r));
  done_ = true;
  if (interrupted_) {
    out.clear();
    return false;
  }
  runner_.assign_bins(out);
  return true;
}

StreamSummary score_stream(const TaskRunner& runner, JsonlReader& reader, size_t chunk_lines, Progress* progress,
                           const std::function<void(const LineResult&)>& emit,
                           const std::function<void()>& chunk_done) {
  StreamSummary summary;
  auto emit_all = [&](const std::vector<LineResult>& results) {
    for (const LineResult& r : results) {
      ++summary.lines;
      if (!r.error.empty()) ++summary.failed;
      emit(r);
    }
    if (chunk_done) chunk_done();
  };
  if (!runner.needs_all_scores()) {
    summary.interrupted = !io::for_each_chunk(reader, chunk_lines, progress,
                                              [&](std::vector<JsonlItem>& items) { emit_all(runner.score(items)); });
    return summary;
  }
  std::vector<LineResult> all;
  summary.interrupted = !io::for_each_chunk(reader, chunk_lines, progress, [&](std::vector<JsonlItem>& items) {
    for (LineResult& r : runner.score(items)) all.push_back(std::move(r));
  });
  if (summary.interrupted) return summary;
  runner.assign_bins(all);
  emit_all(all);
  return summary;
}

Thresholds fit_thresholds_on(const TaskRunner& runner, const std::string& path, size_t chunk_lines,
                             Progress* progress) {
  if (!runner.is_samples_contrast())
    fail_usage("--fit-on fits samples-contrast thresholds; task '" + runner.spec().name + "' is candidates-contrast");
  JsonlReader reader(path);
  std::vector<double> scores;
  std::vector<size_t> gold;
  io::for_each_chunk(reader, chunk_lines, progress, [&](std::vector<JsonlItem>& items) {
    for (const LineResult& r : runner.score_for_fit(items))
      if (r.error.empty() && r.pair && r.gold_index >= 0) {
        scores.push_back(r.pair->logit_gap);
        gold.push_back(static_cast<size_t>(r.gold_index));
      }
  });
  if (scores.empty())
    fail_input(path + ": no line with a usable gold label ('" + runner.spec().label_field + "') to fit thresholds on");
  Thresholds t = fit_thresholds(scores, gold, runner.spec().labels.size());
  t.labels = runner.label_keys();
  t.task = runner.spec().name;
  t.fitted_on = path;
  return t;
}

}  // namespace nspbert::zero_shot
