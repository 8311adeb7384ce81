#pragma once
// Accuracy, macro-F1, per-label precision/recall/F1 and the confusion matrix of an evaluation.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nspbert::zero_shot {

struct LabelMetrics {
  std::string label;
  int64_t support = 0;    // gold items with this label
  int64_t predicted = 0;  // items predicted as this label
  int64_t correct = 0;
  double precision = 0.0;  // correct / predicted, 0 when nothing was predicted
  double recall = 0.0;     // correct / support, 0 when there is no support
  double f1 = 0.0;
};

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::vector<std::string> labels);
  // Label indices past the end (per-line candidates) grow the matrix, named by their index.
  void add(size_t gold, size_t predicted);

  size_t label_count() const { return labels_.size(); }
  const std::vector<std::string>& labels() const { return labels_; }
  int64_t count(size_t gold, size_t predicted) const { return counts_[gold][predicted]; }
  int64_t total() const { return total_; }
  int64_t correct() const;
  double accuracy() const;  // 0 when empty
  std::vector<LabelMetrics> per_label() const;
  // Mean F1 over the labels that occur as gold or as prediction (a label absent from both says
  // nothing about the classifier).
  double macro_f1() const;
  nlohmann::ordered_json to_json() const;  // {"labels": [...], "matrix": [[gold x predicted]]}

 private:
  void grow(size_t n);

  std::vector<std::string> labels_;
  std::vector<std::vector<int64_t>> counts_;  // [gold][predicted]
  int64_t total_ = 0;
};

}  // namespace nspbert::zero_shot
