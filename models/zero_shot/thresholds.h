#pragma once
// Samples-contrast labels from pair scores (logit gaps): cut points fitted on a labelled file and
// saved as JSON, or, without them, equal-size bins over the scores of the input itself (the
// paper's rule; it assumes balanced labels).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nspbert::zero_shot {

struct Thresholds {
  std::vector<std::string> labels;  // label keys, lowest scores first
  std::vector<double> cuts;         // labels.size() - 1 ascending logit-gap cut points
  std::string task;
  std::string fitted_on;
  int64_t items = 0;
  double accuracy = 0.0;  // on the file they were fitted on

  // The label index of a score: the first k with gap < cuts[k], else the last label.
  size_t assign(double logit_gap) const;
  nlohmann::ordered_json to_json() const;
  // Input error naming `source` when the JSON is not a thresholds file.
  static Thresholds from_json(const nlohmann::json& value, const std::string& source);
  static Thresholds load(const std::string& path);
  void save(const std::string& path) const;
};

// Cut points that maximise accuracy on labelled scores, given that labels must rise with the score
// (an exact dynamic programme over the sorted scores; equal scores always share a label). `gold`
// holds label indices in [0, label_count). A label no item falls into gets a cut just outside the
// scores' range.
Thresholds fit_thresholds(const std::vector<double>& scores, const std::vector<size_t>& gold, size_t label_count);

// The paper's rule without labels: sort ascending, cut into label_count equal-size bins (rank r of
// n goes to floor(r * label_count / n); equal scores keep input order).
std::vector<size_t> equal_size_bins(const std::vector<double>& scores, size_t label_count);

}  // namespace nspbert::zero_shot
