#include "models/zero_shot/metrics.h"

#include <algorithm>

namespace nspbert::zero_shot {

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> labels) : labels_(std::move(labels)) {
  counts_.assign(labels_.size(), std::vector<int64_t>(labels_.size(), 0));
}

void ConfusionMatrix::grow(size_t n) {
  while (labels_.size() < n) labels_.push_back(std::to_string(labels_.size()));
  for (auto& row : counts_) row.resize(n, 0);
  counts_.resize(n, std::vector<int64_t>(n, 0));
}

void ConfusionMatrix::add(size_t gold, size_t predicted) {
  const size_t needed = std::max(gold, predicted) + 1;
  if (needed > labels_.size()) grow(needed);
  ++counts_[gold][predicted];
  ++total_;
}

int64_t ConfusionMatrix::correct() const {
  int64_t c = 0;
  for (size_t k = 0; k < labels_.size(); ++k) c += counts_[k][k];
  return c;
}

double ConfusionMatrix::accuracy() const {
  return total_ ? static_cast<double>(correct()) / static_cast<double>(total_) : 0.0;
}

std::vector<LabelMetrics> ConfusionMatrix::per_label() const {
  const size_t K = labels_.size();
  std::vector<LabelMetrics> out(K);
  for (size_t k = 0; k < K; ++k) {
    LabelMetrics& m = out[k];
    m.label = labels_[k];
    m.correct = counts_[k][k];
    for (size_t j = 0; j < K; ++j) {
      m.support += counts_[k][j];
      m.predicted += counts_[j][k];
    }
    m.precision = m.predicted ? static_cast<double>(m.correct) / static_cast<double>(m.predicted) : 0.0;
    m.recall = m.support ? static_cast<double>(m.correct) / static_cast<double>(m.support) : 0.0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  }
  return out;
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0.0;
  int64_t n = 0;
  for (const LabelMetrics& m : per_label()) {
    if (m.support == 0 && m.predicted == 0) continue;
    sum += m.f1;
    ++n;
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

nlohmann::ordered_json ConfusionMatrix::to_json() const {
  nlohmann::ordered_json j;
  j["labels"] = labels_;
  j["matrix"] = counts_;
  return j;
}

}  // namespace nspbert::zero_shot
