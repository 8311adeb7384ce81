#include "tools/cli/zero_shot_options.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/progress.h"

namespace nspbert::cli {

using namespace io;
using namespace zero_shot;

void ScoringOptions::add_to(CLI::App& app, bool with_prompt_flags) {
  model.add_to(app);
  if (with_prompt_flags) {
    app.add_option("--template", templates, "Prompt template with {label} (repeat for several; overrides the task's)")
        ->allow_extra_args(false)
        ->default_str("the task's");
    app.add_option("--position", position, "Prompt as segment A (prefix) or B (suffix); overrides the task's")
        ->check(CLI::IsMember({"prefix", "suffix"}))
        ->default_str("the task's");
  }
  app.add_option("--max-length", max_length, "Tokens per sequence including [CLS]/[SEP] (default: the task's, 128)")
      ->check(CLI::Range(size_t{3}, size_t{1} << 20))
      ->default_str("the task's, else 128");
  app.add_option("--combine", combine, "Several templates: mean log-probability, or logsumexp (a smooth max)")
      ->check(CLI::IsMember({"mean", "logsumexp"}))
      ->default_str("the task's, else mean");
  app.add_flag("--calibrate", calibrate,
               "Contextual calibration: divide each label's score by its score against an empty text");
  app.add_option("--scorer", scorer, "nsp (the NSP head) or mlm (PET-style [MASK] slots, for checkpoints without NSP)")
      ->check(CLI::IsMember({"nsp", "mlm"}))
      ->default_str("the task's, else nsp");
  app.add_option("--top-k", top_k, "List only the K best labels, best first")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->default_str("all");
  app.add_flag("--normalize", normalize, "Add each label's probability: softmax of the scores over the labels");
  add_cascade_flags(app);
}

void ScoringOptions::add_cascade_flags(CLI::App& app) {
  // Callbacks, not variables: whether a flag was given is part of its meaning (the margin is
  // optional, its absence means every line).
  app.add_option_function<int64_t>(
         "--rescore-top", [this](const int64_t& k) { cascade.rescore_top = k; },
         "Cascade: score every label in the fast --precision, then the K best of each line again in f32 (an f32 "
         "copy of the weights), and predict the best of those")
      ->default_str("off");
  app.add_option_function<double>(
         "--rescore-margin", [this](const double& m) { cascade.rescore_margin = m; },
         "Cascade: re-score only lines whose best-minus-second score is below M; samples-contrast (with "
         "--thresholds/--fit-on): lines whose logit gap lies within M of a cut point")
      ->default_str("every line");
}

void ScoringOptions::check_cascade(const TaskSpec& spec, bool has_cut_points) const {
  if (!cascade.on()) return;
  // Before the model loads; the runner checks the loaded precision again.
  if (model.precision == "f32") check_cascade_precision(Precision::F32, cascade);
  zero_shot::check_cascade(cascade, spec, has_cut_points);
}

void ScoringOptions::report_cascade(const TaskRunner& runner) {
  if (const auto stats = runner.cascade_stats(); stats && progress_enabled())
    std::fprintf(stderr, "nspbert: %s\n", describe(*stats).c_str());
}

RunnerOptions ScoringOptions::runner_options(const Model& loaded, bool echo_text) const {
  return TaskOverrides::runner_options(model.attention(loaded.spec), echo_text);
}

static std::filesystem::path shipped_tasks_dir() {
  if (const char* dir = std::getenv("NSPBERT_TASKS"); dir && *dir) return dir;
  return NSPBERT_TASKS_DIR;
}

TaskSpec find_task_spec(const std::string& name_or_file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(name_or_file, ec) || name_or_file.find('/') != std::string::npos || name_or_file.ends_with(".json"))
    return load_task_spec(name_or_file);
  const fs::path dir = shipped_tasks_dir();
  std::string lower = name_or_file;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (fs::is_regular_file(dir / (lower + ".json"), ec)) return load_task_spec(dir / (lower + ".json"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
  fail_usage("--task " + name_or_file + ": no such file, and no shipped task of that name (" +
             (listed.empty() ? "no shipped tasks found in " + dir.string() : "shipped: " + listed) + ")");
}

CLI::Option* add_task_option(CLI::App& app, std::string& task) {
  return app
      .add_option("--task", task, "Task: a shipped task's name (eprstmt, tnews, ...; tools/tasks) or a spec JSON file")
      ->required();
}

void ThresholdOptions::add_to(CLI::App& app) {
  auto* t = app.add_option("--thresholds", thresholds, "Samples-contrast cut points saved by --save-thresholds")
                ->default_str("equal-size bins");
  auto* f = app.add_option("--fit-on", fit_on, "Fit samples-contrast cut points on this labelled JSONL first")
                ->default_str("none");
  app.add_option("--save-thresholds", save_thresholds, "Write the cut points fitted by --fit-on to this JSON file")
      ->needs(f)
      ->default_str("none");
  t->excludes(f);
}

void ThresholdOptions::check() const {
  if (!thresholds.empty()) Thresholds::load(thresholds);  // a missing or broken file fails before the model loads
}

void ThresholdOptions::apply(TaskRunner& runner, size_t chunk_size) const {
  if ((!thresholds.empty() || !fit_on.empty()) && !runner.is_samples_contrast())
    fail_usage("--thresholds/--fit-on apply to samples-contrast tasks; '" + runner.spec().name +
               "' is candidates-contrast");
  if (!thresholds.empty()) runner.set_thresholds(Thresholds::load(thresholds));
  if (fit_on.empty()) return;
  Progress progress("fitted on");
  Thresholds fitted = fit_thresholds_on(runner, fit_on, chunk_size, &progress);
  std::string cuts;
  for (double c : fitted.cuts) cuts += (cuts.empty() ? "" : ", ") + std::to_string(c);
  std::fprintf(stderr, "nspbert: thresholds fitted on %s (%lld lines, accuracy there %.2f%%): logit-gap cuts [%s]\n",
               fit_on.c_str(), static_cast<long long>(fitted.items), 100.0 * fitted.accuracy, cuts.c_str());
  if (!save_thresholds.empty()) fitted.save(save_thresholds);
  runner.set_thresholds(std::move(fitted));
}

std::string dump_json(const nlohmann::ordered_json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int run_scoring_stream(const TaskRunner& runner, const StreamOptions& options, JsonlReader& reader,
                       const std::function<std::string(const LineResult&)>& render, const std::string& table_header) {
  if (options.resume && runner.needs_all_scores())
    fail_usage("--resume on a samples-contrast task needs --thresholds (equal-size bins depend on every line's score)");
  if (options.shard && runner.needs_all_scores())
    fail_usage("--shard on a samples-contrast task needs --thresholds (equal-size bins depend on every line's score)");
  StreamWords words;
  words.table_header = table_header;
  if (runner.needs_all_scores())
    words.stop_hint = "equal-size bins need every score: rerun, or give --thresholds to make the run resumable";
  return run_stream(options, reader, words, [&](JsonlReader& in, LineSink& sink, Progress& progress) {
    score_stream(
        runner, in, options.chunk_size, &progress,
        [&](const LineResult& r) { sink.add(r.line, render(r), !r.error.empty()); }, [&] { sink.end_chunk(); });
  });
}

}  // namespace nspbert::cli
