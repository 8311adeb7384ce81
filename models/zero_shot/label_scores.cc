#include "models/zero_shot/label_scores.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nspbert::zero_shot {

double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

double combine_log_probs(const std::vector<double>& values, Combine how) {
  if (values.empty()) return 0.0;
  if (values.size() == 1) return values[0];
  const double n = static_cast<double>(values.size());
  if (how == Combine::Mean) return std::accumulate(values.begin(), values.end(), 0.0) / n;
  const double m = *std::max_element(values.begin(), values.end());
  if (!std::isfinite(m)) return m;
  double sum = 0.0;
  for (double v : values) sum += std::exp(v - m);
  return m + std::log(sum) - std::log(n);
}

void finish_label_score(LabelScore& s, Combine how, const std::vector<double>& empty_text_log_probs) {
  s.log_prob = combine_log_probs(s.template_log_probs, how);
  if (!s.template_logit_gaps.empty())
    s.logit_gap = std::accumulate(s.template_logit_gaps.begin(), s.template_logit_gaps.end(), 0.0) /
                  static_cast<double>(s.template_logit_gaps.size());
  if (empty_text_log_probs.empty()) {
    s.score = s.log_prob;
    return;
  }
  std::vector<double> calibrated(s.template_log_probs.size());
  for (size_t t = 0; t < calibrated.size(); ++t) calibrated[t] = s.template_log_probs[t] - empty_text_log_probs[t];
  s.score = combine_log_probs(calibrated, how);
}

std::vector<double> normalized_probabilities(const std::vector<LabelScore>& scores) {
  std::vector<double> p(scores.size());
  if (scores.empty()) return p;
  double m = -INFINITY;
  for (const LabelScore& s : scores) m = std::max(m, s.score);
  double sum = 0.0;
  for (size_t k = 0; k < scores.size(); ++k) sum += p[k] = std::exp(scores[k].score - m);
  for (double& v : p) v /= sum;
  return p;
}

size_t best_label(const std::vector<LabelScore>& scores) {
  size_t best = 0;
  for (size_t k = 1; k < scores.size(); ++k)
    if (scores[k].score > scores[best].score) best = k;
  return best;
}

std::vector<size_t> ranked_labels(const std::vector<LabelScore>& scores, size_t k) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a].score > scores[b].score; });
  if (k > 0 && k < order.size()) order.resize(k);
  return order;
}

std::vector<std::vector<size_t>> every_label(size_t texts, size_t count) {
  std::vector<size_t> all(count);
  std::iota(all.begin(), all.end(), 0);
  return std::vector<std::vector<size_t>>(texts, all);
}

}  // namespace nspbert::zero_shot
