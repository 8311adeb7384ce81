// nspbert eval: score a labelled JSONL file with a task spec and report accuracy, macro-F1,
// per-label precision/recall and the confusion matrix, beside the paper's figure for the task.
#include <cstdio>
#include <memory>

#include "engine/error.h"
#include "models/zero_shot/evaluation.h"
#include "tools/cli/command.h"
#include "tools/cli/zero_shot_options.h"

namespace nspbert::cli {
namespace {

using namespace io;
using namespace zero_shot;

struct EvalArgs {
  ScoringOptions scoring;
  ThresholdOptions thresholds;
  std::string task;
  std::string input;
  std::string output;
  std::string format = "table";
  size_t chunk_size = 256;
};

int run(const EvalArgs& args) {
  TaskSpec spec = find_task_spec(args.task);
  args.scoring.apply_to(spec);
  if (spec.label_field.empty()) fail_usage("task '" + spec.name + "' names no label_field: eval needs gold labels");
  args.thresholds.check();
  args.scoring.check_cascade(spec, args.thresholds.given());
  refuse_output_over_input(args.output, args.input);
  JsonlReader reader(args.input);
  const Model model = args.scoring.model.load();
  TaskRunner runner(std::move(spec), model, args.scoring.runner_options(model, /*echo_text=*/false));
  args.thresholds.apply(runner, args.chunk_size);

  Evaluation evaluation(runner);
  Progress progress("scored", reader.total_bytes());
  score_stream(runner, reader, args.chunk_size, &progress, [&](const LineResult& r) { evaluation.add(r); });
  ScoringOptions::report_cascade(runner);
  OutputFile out(args.output, /*resume=*/false);
  if (args.format == "json") {
    out.write_line(dump_json(evaluation.to_json(), 2));
  } else {
    std::string table = evaluation.to_table();
    if (!table.empty() && table.back() == '\n') table.pop_back();
    out.write_line(table);
  }
  out.commit();
  if (evaluation.lines() == 0) std::fprintf(stderr, "nspbert: warning: %s has no input lines\n", reader.name().c_str());
  return evaluation.failed() > 0 ? 1 : 0;
}

void declare(CLI::App& app, EvalArgs& args) {
  add_task_option(app, args.task);
  app.add_option("--input", args.input, "Labelled JSONL (default: standard input)");
  app.add_option("--format", args.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--output", args.output, "Write the report here instead of standard output")
      ->default_str("standard output");
  args.scoring.add_to(app, /*with_prompt_flags=*/true);
  args.thresholds.add_to(app);
  add_chunk_size_option(app, args.chunk_size);
}

const bool registered = register_command<EvalArgs>(
    "eval", "Evaluate a zero-shot task spec on labelled JSONL: accuracy, macro-F1, per-label P/R, confusion matrix",
    declare, run);

}  // namespace
}  // namespace nspbert::cli
