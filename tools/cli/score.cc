// nspbert score: stream a JSONL file through a task spec (tools/tasks/*.json), one prediction with
// per-label scores per non-blank input line, in input order.
#include <memory>

#include "engine/error.h"
#include "tools/cli/command.h"
#include "tools/cli/zero_shot_options.h"

namespace nspbert::cli {
namespace {

using namespace zero_shot;

struct ScoreArgs {
  ScoringOptions scoring;
  ThresholdOptions thresholds;
  std::string task;
  StreamOptions stream{256};
};

int run(const ScoreArgs& args) {
  TaskSpec spec = find_task_spec(args.task);
  args.scoring.apply_to(spec);
  if (args.stream.resume && spec.strategy == Strategy::SamplesContrast && args.thresholds.thresholds.empty() &&
      args.thresholds.fit_on.empty())
    fail_usage(
        "--resume on a samples-contrast task needs --thresholds or --fit-on (equal-size bins depend on every line's "
        "score)");
  args.thresholds.check();
  args.scoring.check_cascade(spec, args.thresholds.given());
  const std::unique_ptr<JsonlReader> reader = args.stream.open(/*field=*/"");
  const Model model = args.scoring.model.load();
  TaskRunner runner(std::move(spec), model, args.scoring.runner_options(model, /*echo_text=*/false));
  args.thresholds.apply(runner, args.stream.chunk_size);
  const int code =
      run_scoring_stream(runner, args.stream, *reader, [&](const LineResult& r) { return runner.to_line(r); });
  ScoringOptions::report_cascade(runner);
  return code;
}

void declare(CLI::App& app, ScoreArgs& args) {
  add_task_option(app, args.task);
  args.stream.add_to(app, /*positional_texts=*/false);
  add_format_option(app, args.stream.format, {Format::Jsonl, Format::Json},
                    "jsonl (one object per line) or json (one array)");
  args.scoring.add_to(app, /*with_prompt_flags=*/true);
  args.thresholds.add_to(app);
}

const bool registered = register_command<ScoreArgs>(
    "score", "Stream a JSONL file through a zero-shot task spec: a prediction with per-label scores per line", declare,
    run);

}  // namespace
}  // namespace nspbert::cli
