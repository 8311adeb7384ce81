#pragma once
// What classify, score and eval share: the scoring flags (which override a task spec), the
// samples-contrast threshold flags, and writing a result stream to --output with --resume.
#include <CLI/CLI.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "models/model.h"
#include "models/zero_shot/jsonl_stream.h"
#include "models/zero_shot/task_overrides.h"
#include "models/zero_shot/task_runner.h"
#include "models/zero_shot/task_spec.h"
#include "tools/cli/model_options.h"

namespace nspbert::cli {

// The overrides (models/zero_shot/task_overrides.h) as flags, with the model flags and the chunk size.
struct ScoringOptions : zero_shot::TaskOverrides {
  ModelOptions model;
  size_t chunk_size = 256;

  // `classify` owns the template and position flags (required/defaulted there); score and eval
  // add them as overrides.
  void add_to(CLI::App& app, bool with_prompt_flags);
  zero_shot::RunnerOptions runner_options(const Model& model, bool echo_text) const;
};

struct ThresholdOptions {
  std::string thresholds;       // --thresholds FILE
  std::string fit_on;           // --fit-on dev.jsonl
  std::string save_thresholds;  // --save-thresholds FILE

  void add_to(CLI::App& app);
  void check() const;  // flag combinations, before anything is loaded
  // Loads or fits the thresholds the runner will use (samples-contrast only).
  void apply(zero_shot::TaskRunner& runner, size_t chunk_size) const;
};

// One JSON value as text; invalid UTF-8 is replaced, never thrown on.
std::string dump_json(const nlohmann::ordered_json& value, int indent = -1);

// Streams every line of `reader` through `runner` into `output` (standard output when empty):
// `render` turns a result into one output line; `header`/`footer` frame the stream when not empty.
// With `resume`, the complete lines already written are kept and as many input lines skipped.
// Returns the exit code: 1 when any line (written now or before) failed, else 0.
int write_results(const zero_shot::TaskRunner& runner, zero_shot::JsonlReader& reader, const std::string& output,
                  bool resume, size_t chunk_size, const std::function<std::string(const zero_shot::LineResult&)>& render,
                  const std::string& header = "", const std::string& footer = "");

}  // namespace nspbert::cli
