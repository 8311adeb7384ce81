#include "models/zero_shot/thresholds.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include "engine/error.h"

namespace nspbert::zero_shot {

using nlohmann::json;

size_t Thresholds::assign(double logit_gap) const {
  for (size_t k = 0; k < cuts.size(); ++k)
    if (logit_gap < cuts[k]) return k;
  return cuts.size();
}

nlohmann::ordered_json Thresholds::to_json() const {
  nlohmann::ordered_json j;
  j["task"] = task;
  j["score"] = "logit_gap";
  j["labels"] = labels;
  j["cuts"] = cuts;
  j["fitted_on"] = fitted_on;
  j["items"] = items;
  j["accuracy"] = accuracy;
  return j;
}

Thresholds Thresholds::from_json(const json& value, const std::string& source) {
  if (!value.is_object()) fail_input(source + ": a thresholds file must be a JSON object");
  Thresholds t;
  if (!value.contains("labels") || !value["labels"].is_array() || value["labels"].size() < 2)
    fail_input(source + ": 'labels' must be an array of at least two label ids");
  for (const json& l : value["labels"]) {
    if (!l.is_string()) fail_input(source + ": 'labels' must hold strings");
    t.labels.push_back(l.get<std::string>());
  }
  if (!value.contains("cuts") || !value["cuts"].is_array() || value["cuts"].size() != t.labels.size() - 1)
    fail_input(source + ": 'cuts' must hold one number fewer than 'labels'");
  for (const json& c : value["cuts"]) {
    if (!c.is_number() || !std::isfinite(c.get<double>())) fail_input(source + ": 'cuts' must hold finite numbers");
    t.cuts.push_back(c.get<double>());
  }
  if (!std::is_sorted(t.cuts.begin(), t.cuts.end())) fail_input(source + ": 'cuts' must be in ascending order");
  if (value.contains("score") && value["score"] != "logit_gap")
    fail_input(source + ": 'score' must be \"logit_gap\" (the only score thresholds are fitted on)");
  if (value.contains("task") && value["task"].is_string()) t.task = value["task"].get<std::string>();
  if (value.contains("fitted_on") && value["fitted_on"].is_string())
    t.fitted_on = value["fitted_on"].get<std::string>();
  if (value.contains("items") && value["items"].is_number_integer()) t.items = value["items"].get<int64_t>();
  if (value.contains("accuracy") && value["accuracy"].is_number()) t.accuracy = value["accuracy"].get<double>();
  return t;
}

Thresholds Thresholds::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail_input(path + ": is a directory, not a thresholds file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path + ": cannot open the thresholds file");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) fail_input(path + ": the thresholds file is not valid JSON");
  return from_json(value, path);
}

void Thresholds::save(const std::string& path) const {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) fail_input("cannot write " + partial);
    out << to_json().dump(2) << "\n";
    if (!out.flush()) fail_input("cannot write " + partial);
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) fail_input("cannot rename " + partial + " to " + path);
}

Thresholds fit_thresholds(const std::vector<double>& scores, const std::vector<size_t>& gold, size_t label_count) {
  if (scores.size() != gold.size()) fail_input("fit_thresholds: scores and gold labels differ in number");
  if (scores.empty()) fail_input("no labelled lines to fit thresholds on");
  if (label_count < 2) fail_usage("thresholds need at least two labels");
  const size_t K = label_count;
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });

  // Blocks of equal scores: a cut cannot separate them.
  std::vector<double> block_score;
  std::vector<std::vector<int64_t>> count;
  for (size_t i : order) {
    if (gold[i] >= K) fail_input("fit_thresholds: gold label index out of range");
    if (block_score.empty() || scores[i] != block_score.back()) {
      block_score.push_back(scores[i]);
      count.emplace_back(K, 0);
    }
    ++count.back()[gold[i]];
  }
  const size_t B = block_score.size();
  // f[b][k]: most correct labels over blocks 0..b when block b gets label k (labels never decrease).
  std::vector<std::vector<int64_t>> f(B, std::vector<int64_t>(K));
  for (size_t b = 0; b < B; ++b) {
    int64_t best_before = 0;
    for (size_t k = 0; k < K; ++k) {
      if (b > 0) best_before = std::max(best_before, f[b - 1][k]);
      f[b][k] = best_before + count[b][k];
    }
  }
  std::vector<size_t> label(B);
  size_t k = static_cast<size_t>(std::max_element(f[B - 1].begin(), f[B - 1].end()) - f[B - 1].begin());
  const int64_t correct = f[B - 1][k];
  for (size_t b = B; b-- > 0;) {
    label[b] = k;
    if (b == 0) break;
    // The earliest label among the optimal predecessors, so ties favour lower labels consistently.
    size_t best = 0;
    for (size_t j = 1; j <= k; ++j)
      if (f[b - 1][j] > f[b - 1][best]) best = j;
    k = best;
  }

  Thresholds t;
  t.items = static_cast<int64_t>(scores.size());
  t.accuracy = static_cast<double>(correct) / static_cast<double>(scores.size());
  for (size_t c = 0; c + 1 < K; ++c) {
    // First block whose label is above c.
    const size_t first_above =
        static_cast<size_t>(std::find_if(label.begin(), label.end(), [&](size_t l) { return l > c; }) - label.begin());
    if (first_above == 0) {
      t.cuts.push_back(block_score.front() - 1.0);
    } else if (first_above == B) {
      t.cuts.push_back(block_score.back() + 1.0);
    } else {
      t.cuts.push_back(0.5 * (block_score[first_above - 1] + block_score[first_above]));
    }
  }
  return t;
}

std::vector<size_t> equal_size_bins(const std::vector<double>& scores, size_t label_count) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  std::vector<size_t> bins(scores.size());
  const size_t n = scores.size();
  for (size_t r = 0; r < n; ++r) bins[order[r]] = r * label_count / n;
  return bins;
}

}  // namespace nspbert::zero_shot
