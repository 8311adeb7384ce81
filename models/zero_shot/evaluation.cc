#include "models/zero_shot/evaluation.h"

#include <cmath>

#include "models/zero_shot/text_table.h"

namespace nspbert::zero_shot {

namespace {
constexpr size_t kListedFailures = 10;
constexpr size_t kLargestPrintedMatrix = 20;  // wider confusion matrices go to --format json
}  // namespace

Evaluation::Evaluation(const TaskRunner& runner) : runner_(runner), matrix_(runner.label_keys()) {}

void Evaluation::add(const LineResult& r) {
  ++lines_;
  std::string problem = r.error;
  if (problem.empty() && r.gold_index < 0) {
    problem = !r.gold_error.empty() ? r.gold_error : "no gold label (field '" + runner_.spec().label_field + "')";
  }
  if (problem.empty() && r.predicted < 0) problem = "no prediction";
  if (!problem.empty()) {
    ++failed_;
    if (first_failures_.size() < kListedFailures) first_failures_.emplace_back(r.line, problem);
    return;
  }
  matrix_.add(static_cast<size_t>(r.gold_index), static_cast<size_t>(r.predicted));
}

std::string Evaluation::word_of(size_t k) const {
  const auto& labels = runner_.spec().labels;
  return k < labels.size() ? labels[k].word : "";
}

nlohmann::ordered_json Evaluation::to_json() const {
  const TaskSpec& spec = runner_.spec();
  nlohmann::ordered_json j;
  j["task"] = spec.name;
  j["strategy"] = strategy_name(spec.strategy);
  j["scorer"] = scorer_name(spec.scorer);
  if (spec.strategy == Strategy::CandidatesContrast) {
    j["templates"] = spec.templates;
    j["combine"] = combine_name(spec.combine);
    j["calibrate"] = spec.calibrate;
  }
  j["max_length"] = spec.max_length;
  j["lines"] = lines_;
  j["evaluated"] = matrix_.total();
  j["failed"] = failed_;
  // Nothing evaluated has no accuracy (0% would read as a result).
  j["accuracy"] = matrix_.total() ? nlohmann::ordered_json(matrix_.accuracy()) : nlohmann::ordered_json();
  j["macro_f1"] = matrix_.total() ? nlohmann::ordered_json(matrix_.macro_f1()) : nlohmann::ordered_json();
  if (spec.paper_accuracy) {
    j["paper_accuracy"] = std::round(*spec.paper_accuracy * 100.0) / 10000.0;  // percent -> fraction, no 0.869000...1
    j["paper_source"] = spec.paper_source;
  }
  if (spec.strategy == Strategy::SamplesContrast) {
    const auto& t = runner_.thresholds();
    j["labelling"] = t ? "thresholds" : "equal-size bins";
    if (t) j["thresholds"] = t->to_json();
  }
  nlohmann::ordered_json labels = nlohmann::ordered_json::array();
  const std::vector<LabelMetrics> metrics = matrix_.per_label();
  for (size_t k = 0; k < metrics.size(); ++k) {
    const LabelMetrics& m = metrics[k];
    nlohmann::ordered_json entry;
    entry["label"] = m.label;
    if (const std::string w = word_of(k); !w.empty() && w != m.label) entry["word"] = w;
    entry["precision"] = m.precision;
    entry["recall"] = m.recall;
    entry["f1"] = m.f1;
    entry["support"] = m.support;
    entry["predicted"] = m.predicted;
    labels.push_back(std::move(entry));
  }
  j["labels"] = std::move(labels);
  j["confusion_matrix"] = matrix_.to_json();
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (const auto& [line, error] : first_failures_) failures.push_back({{"line", line}, {"error", error}});
  j["first_failures"] = std::move(failures);
  return j;
}

std::string Evaluation::to_table() const {
  const TaskSpec& spec = runner_.spec();
  std::string out = "task " + spec.name + " (" + strategy_name(spec.strategy) + ", " + scorer_name(spec.scorer);
  if (spec.strategy == Strategy::CandidatesContrast) {
    out += ", " + std::to_string(spec.templates.size()) + (spec.templates.size() == 1 ? " template" : " templates");
    if (spec.templates.size() > 1) out += std::string(" combined by ") + combine_name(spec.combine);
    if (spec.calibrate) out += ", calibrated";
  } else {
    out += runner_.thresholds() ? ", fitted thresholds" : ", equal-size bins";
  }
  out += ", max length " + std::to_string(spec.max_length) + ")\n";
  out += std::to_string(lines_) + " lines, " + std::to_string(matrix_.total()) + " evaluated, " +
         std::to_string(failed_) + " failed\n";
  TextTable summary({"", "ours", "paper"}, {false, true, true});
  const auto ours = [this](double value) { return matrix_.total() ? percent(value) : std::string("n/a"); };
  summary.add_row(
      {"accuracy", ours(matrix_.accuracy()), spec.paper_accuracy ? percent(*spec.paper_accuracy / 100.0) : "-"});
  summary.add_row({"macro-F1", ours(matrix_.macro_f1()), "-"});
  out += "\n" + summary.render();
  if (spec.paper_accuracy && !spec.paper_source.empty()) out += "paper: " + spec.paper_source + "\n";

  const std::vector<LabelMetrics> metrics = matrix_.per_label();
  bool words = false;  // a word column only when some label's word differs from its id
  for (size_t k = 0; k < metrics.size(); ++k) words |= !word_of(k).empty() && word_of(k) != metrics[k].label;
  std::vector<std::string> header{"label", "precision", "recall", "F1", "support", "predicted"};
  std::vector<bool> right{false, true, true, true, true, true};
  if (words) {
    header.insert(header.begin() + 1, "word");
    right.insert(right.begin() + 1, false);
  }
  TextTable per_label(header, right);
  for (size_t k = 0; k < metrics.size(); ++k) {
    const LabelMetrics& m = metrics[k];
    std::vector<std::string> row{m.label,       percent(m.precision),      percent(m.recall),
                                 percent(m.f1), std::to_string(m.support), std::to_string(m.predicted)};
    if (words) row.insert(row.begin() + 1, word_of(k) == m.label ? "" : word_of(k));
    per_label.add_row(std::move(row));
  }
  out += "\n" + per_label.render();

  const size_t K = matrix_.label_count();
  if (K <= kLargestPrintedMatrix) {
    std::vector<std::string> header{"gold \\ predicted"};
    for (const std::string& l : matrix_.labels()) header.push_back(l);
    std::vector<bool> right(K + 1, true);
    right[0] = false;
    TextTable confusion(header, right);
    for (size_t g = 0; g < K; ++g) {
      std::vector<std::string> row{matrix_.labels()[g]};
      for (size_t p = 0; p < K; ++p) row.push_back(std::to_string(matrix_.count(g, p)));
      confusion.add_row(std::move(row));
    }
    out += "\nconfusion matrix\n" + confusion.render();
  } else {
    out += "\nconfusion matrix: " + std::to_string(K) + " labels, see --format json\n";
  }
  if (!first_failures_.empty()) {
    out += "\nfailed lines";
    if (failed_ > static_cast<int64_t>(first_failures_.size()))
      out += " (first " + std::to_string(first_failures_.size()) + " of " + std::to_string(failed_) + ")";
    out += ":\n";
    for (const auto& [line, error] : first_failures_) out += "  line " + std::to_string(line) + ": " + error + "\n";
  }
  return out;
}

}  // namespace nspbert::zero_shot
