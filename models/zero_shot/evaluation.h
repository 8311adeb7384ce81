#pragma once
// Accumulates scored lines against their gold labels and reports accuracy, macro-F1, per-label
// precision/recall and the confusion matrix, with the paper's figure for the task beside ours.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/zero_shot/metrics.h"
#include "models/zero_shot/task_runner.h"

namespace nspbert::zero_shot {

class Evaluation {
 public:
  explicit Evaluation(const TaskRunner& runner);
  // A line that failed, or has no usable gold label, counts as failed and is listed (first few).
  void add(const LineResult& result);

  int64_t lines() const { return lines_; }
  int64_t failed() const { return failed_; }
  const ConfusionMatrix& matrix() const { return matrix_; }

  nlohmann::ordered_json to_json() const;
  std::string to_table() const;

 private:
  std::string word_of(size_t k) const;

  const TaskRunner& runner_;
  ConfusionMatrix matrix_;
  int64_t lines_ = 0;
  int64_t failed_ = 0;
  std::vector<std::pair<int64_t, std::string>> first_failures_;
};

}  // namespace nspbert::zero_shot
