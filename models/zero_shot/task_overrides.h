#pragma once
// Settings a caller lays over a task spec (the CLI's scoring flags, the Python keywords), and the
// task `classify` builds from a label list. The CLI and the Python package share them, so both
// refuse the same combinations with the same messages.
#include <cstddef>
#include <string>
#include <vector>

#include "engine/encoder_spec.h"
#include "models/zero_shot/cascade.h"
#include "models/zero_shot/task_runner.h"
#include "models/zero_shot/task_spec.h"

namespace nspbert::zero_shot {

struct TaskOverrides {
  std::vector<std::string> templates;     // empty: the task's
  size_t max_length = 0;                  // 0: the task's
  std::string position, combine, scorer;  // empty: the task's
  bool calibrate = false;
  size_t top_k = 0;
  bool normalize = false;
  CascadeOptions cascade;  // --rescore-top, --rescore-margin

  // Applies the overrides, then re-checks the task and the cascade flags (usage errors; whether a
  // samples-contrast cascade has cut points is checked once thresholds are known).
  void apply_to(TaskSpec& spec) const;
  RunnerOptions runner_options(const AttentionOptions& attention, bool echo_text) const;
};

// Candidates-contrast over fixed labels (their words are also their ids), texts in `text_field`,
// ids in "id": what `nspbert classify` runs. Templates and the rest come from TaskOverrides.
TaskSpec classify_task(std::vector<std::string> label_words, const std::string& text_field);

}  // namespace nspbert::zero_shot
