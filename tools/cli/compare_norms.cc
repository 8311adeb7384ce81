// nspbert compare-norms: how Pre-Norm and Post-Norm models use their depth (docs/methods.md §2).
// Residual-stream statistics per layer, averaged over every token of every input text.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/analysis/depth_usage.h"
#include "engine/error.h"
#include "engine/io/jsonl_stream.h"
#include "models/depth_report.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

using nlohmann::ordered_json;

constexpr size_t kReportedErrors = 100;

struct CompareNormsArgs {
  std::vector<std::string> models;
  ModelOptions engine;  // every flag but --model, the same for each model
  std::string input;
  std::string field = "text";
  size_t max_length = 0;  // 0: the model's position table, at most 512
  std::string format = "table";
  std::string plot;
  std::string norm_placement;  // empty: as the checkpoint was trained
  std::string residual_scale;  // empty, a number, or "deepnorm"
  double depth_threshold = 0.9;
  size_t chunk_size = 256;
};

// One pass over the input for one model: chunks of texts, the unusable lines reported (on the
// first pass only: every model reads the same lines) and counted, with its own progress line.
class TextPass {
 public:
  TextPass(const CompareNormsArgs& args, DepthReport& report, bool report_errors, const std::string& progress_verb)
      : args_(args),
        report_(report),
        report_errors_(report_errors),
        reader_(args.input),
        progress_(progress_verb, reader_.total_bytes()) {}
  void finish() { progress_.finish(); }

  bool next(std::vector<std::string>& texts) {
    if (!reader_.read_chunk(args_.chunk_size, items_)) return false;
    for (const io::JsonlItem& item : items_) {
      std::string error = item.error;
      std::optional<std::string> text;
      if (error.empty()) text = string_field(item.value, args_.field, error);
      if (text)
        texts.push_back(std::move(*text));
      else if (report_errors_)
        skip(item.line, error);
    }
    seen_ += static_cast<int64_t>(items_.size());
    progress_.update(seen_, reader_.bytes_read());
    return true;
  }

 private:
  void skip(int64_t line, const std::string& error) {
    if (report_.skipped < static_cast<int64_t>(kReportedErrors)) {
      std::fprintf(stderr, "nspbert: skipped line %lld of %s: %s\n", static_cast<long long>(line), args_.input.c_str(),
                   error.c_str());
      report_.errors.push_back({line, error});
    }
    ++report_.skipped;
  }

  const CompareNormsArgs& args_;
  DepthReport& report_;
  bool report_errors_;
  io::JsonlReader reader_;
  io::Progress progress_;
  std::vector<io::JsonlItem> items_;
  int64_t seen_ = 0;
};

std::optional<NormPlacement> requested_placement(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return name == "pre" ? NormPlacement::Pre : NormPlacement::Post;
}

int run(const CompareNormsArgs& args) {
  const std::optional<NormPlacement> placement = requested_placement(args.norm_placement);
  residual_scale_for(args.residual_scale, 1);  // rejects a bad value before any model loads
  { io::JsonlReader probe(args.input); }
  if (!args.plot.empty()) {
    // Fail before minutes of encoder work rather than after.
    const std::filesystem::path dir = std::filesystem::path(args.plot).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      fail_input("cannot write " + args.plot + ": folder " + dir.string() + " does not exist");
  }

  DepthReport report;
  report.input = args.input;
  report.depth_threshold = args.depth_threshold;
  for (size_t m = 0; m < args.models.size(); ++m) {
    ModelOptions options = args.engine;
    options.model = args.models[m];
    const Model model = options.load(/*need_tokenizer=*/true);
    const size_t max_length = depth_max_length(args.max_length, model.spec, args.models[m]);
    Ablation ablation;
    ablation.swap_norm_placement = placement && *placement != model.spec.norm_placement;
    ablation.residual_scale = residual_scale_for(args.residual_scale, model.spec.layers);

    TextPass pass(args, report, /*report_errors=*/m == 0,
                  "model " + std::to_string(m + 1) + "/" + std::to_string(args.models.size()) + ": read");
    DepthProfile profile = measure_depth(model, depth_model_label(args.models[m], report.profiles), args.models[m],
                                         ablation, options.attention(model.spec), max_length,
                                         [&](std::vector<std::string>& texts) { return pass.next(texts); });
    pass.finish();
    if (m > 0 && profile.sequences != report.texts)
      fail_input(args.input +
                 " read differently for the second model; with several models --input must be a "
                 "regular file, not a pipe");
    if (profile.sequences == 0)
      fail_input(args.input + " has no usable text" +
                 (report.skipped ? " (" + std::to_string(report.skipped) + " invalid lines skipped)" : std::string()));
    report.texts = profile.sequences;
    report.profiles.push_back(std::move(profile));
    report.max_lengths.push_back(max_length);
  }
  if (report.skipped > static_cast<int64_t>(kReportedErrors))
    std::fprintf(stderr, "nspbert: skipped %lld invalid lines in %s in all\n", static_cast<long long>(report.skipped),
                 args.input.c_str());

  bool any_ablation = false;
  for (const DepthProfile& p : report.profiles) any_ablation |= p.ablated();
  if (!args.plot.empty()) write_text_file(args.plot, render_svg(depth_chart(report.profiles)));
  report.plot = args.plot;

  if (args.format == "json") {
    std::cout << report.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::string header = std::string(any_ablation ? "ABLATION RUN - " : "") + "residual stream over " +
                         std::to_string(report.texts) + " texts from " + args.input;
    if (report.skipped) header += " (" + std::to_string(report.skipped) + " invalid lines skipped)";
    std::cout << header << "\n"
              << "layer t row: norm of x(t); rel_update and cos_prev compare x(t) with x(t-1)\n\n"
              << depth_table(report.profiles, args.depth_threshold);
    if (!args.plot.empty()) std::cout << "\nplot written to " << args.plot << "\n";
  }
  std::cout.flush();
  return report.skipped ? 1 : 0;
}

void declare(CLI::App& app, CompareNormsArgs& args) {
  app.add_option("--model", args.models, "Model folder; repeat to compare several models")->required();
  app.add_option("--input", args.input, "JSONL file, one {\"text\": ...} per line")->required();
  app.add_option("--field", args.field, "Name of the text field")->capture_default_str();
  app.add_option("--max-length", args.max_length,
                 "Truncate [CLS] text [SEP] to this many tokens (default: the position table, at most 512)")
      ->check(CLI::Range(size_t{2}, size_t{1} << 20))
      ->default_str("the position table, at most 512");
  app.add_option("--format", args.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--plot", args.plot, "Write an SVG chart (three panels, one line per model) to this file")
      ->default_str("none");
  app.add_option("--norm-placement", args.norm_placement,
                 "ABLATION: run every model with this norm placement (pre or post), whatever it was trained with")
      ->check(CLI::IsMember({"pre", "post"}))
      ->default_str("as trained");
  app.add_option("--residual-scale", args.residual_scale,
                 "ABLATION: DeepNorm-style x <- Norm(alpha x + F(x)); a number, or 'deepnorm' for (2N)^(1/4)")
      ->default_str("none");
  app.add_option("--depth-threshold", args.depth_threshold,
                 "A layer counts towards the effective depth when its cosine to the previous layer is below this")
      ->check(CLI::Range(-1.0, 1.0))
      ->capture_default_str();
  add_chunk_size_option(app, args.chunk_size);
  app.add_option("--chunk", args.chunk_size)->group("");  // the old name, kept for one release
  args.engine.add_engine_flags(app);
}

const bool registered = register_command<CompareNormsArgs>(
    "compare-norms",
    "Per-layer residual-stream statistics (norm, relative update, cosine to the previous layer, attention "
    "entropy) of one or more models over a JSONL file of texts, as a table, JSON or an SVG plot",
    declare, run);

}  // namespace
}  // namespace nspbert::cli
