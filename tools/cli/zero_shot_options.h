#pragma once
// What classify, score and eval share: the scoring flags (which override a task spec), the
// samples-contrast threshold flags, and running a task over a stream (tools/cli/stream_command.h).
#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "models/model.h"
#include "models/zero_shot/task_overrides.h"
#include "models/zero_shot/task_runner.h"
#include "models/zero_shot/task_spec.h"
#include "tools/cli/model_options.h"
#include "tools/cli/stream_command.h"

namespace nspbert::cli {

// The overrides (models/zero_shot/task_overrides.h) as flags, with the model flags and the chunk size.
struct ScoringOptions : zero_shot::TaskOverrides {
  ModelOptions model;

  // `classify` owns the template and position flags (required/defaulted there); score and eval
  // add them as overrides.
  void add_to(CLI::App& app, bool with_prompt_flags);
  zero_shot::RunnerOptions runner_options(const Model& model, bool echo_text) const;
  // The cascade's flag combinations and --precision, before the model loads (usage errors).
  // `has_cut_points`: --thresholds or --fit-on given (samples-contrast).
  void check_cascade(const zero_shot::TaskSpec& spec, bool has_cut_points) const;
  // "cascade: re-scored N of M scores in f32 ..." on stderr, where the progress line's final count goes.
  static void report_cascade(const zero_shot::TaskRunner& runner);
  void add_cascade_flags(CLI::App& app);
};

// --task: a spec file, or the name of a shipped one (tools/tasks/NAME.json); a usage error listing
// the shipped names when it is neither.
zero_shot::TaskSpec find_task_spec(const std::string& name_or_file);
// The --task flag (score, eval).
CLI::Option* add_task_option(CLI::App& app, std::string& task);

struct ThresholdOptions {
  std::string thresholds;       // --thresholds FILE
  std::string fit_on;           // --fit-on dev.jsonl
  std::string save_thresholds;  // --save-thresholds FILE

  void add_to(CLI::App& app);
  void check() const;  // flag combinations, before anything is loaded
  bool given() const { return !thresholds.empty() || !fit_on.empty(); }
  // Loads or fits the thresholds the runner will use (samples-contrast only).
  void apply(zero_shot::TaskRunner& runner, size_t chunk_size) const;
};

// One JSON value as text; invalid UTF-8 is replaced, never thrown on.
std::string dump_json(const nlohmann::ordered_json& value, int indent = -1);

// Streams lines through `runner` (score, classify): `render` turns a result into its output line.
// Binned samples-contrast (no thresholds) writes at the end and cannot be resumed.
int run_scoring_stream(const zero_shot::TaskRunner& runner, const StreamOptions& options, io::JsonlReader& reader,
                       const std::function<std::string(const zero_shot::LineResult&)>& render,
                       const std::string& table_header = "");

}  // namespace nspbert::cli
