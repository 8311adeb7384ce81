// nspbert compare-norms: how Pre-Norm and Post-Norm models use their depth (docs/methods.md §2).
// Residual-stream statistics per layer, averaged over every token of every input text.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/analysis/depth_usage.h"
#include "engine/error.h"
#include "models/depth_report.h"
#include "tools/cli/command.h"
#include "tools/cli/model_options.h"

namespace nspbert::cli {
namespace {

using nlohmann::ordered_json;

constexpr size_t kReportedErrors = 100;

struct CompareNormsArgs {
  std::vector<std::string> models;
  std::string input;
  std::string field = "text";
  size_t max_length = 0;  // 0: the model's position table, at most 512
  std::string format = "table";
  std::string plot;
  std::string norm_placement;  // empty: as the checkpoint was trained
  std::string residual_scale;  // empty, a number, or "deepnorm"
  double depth_threshold = 0.9;
  size_t chunk = 256;
  int threads = 0;
  std::string jieba_dict;
  bool split_special_tokens = false;
};

struct LineError {
  int64_t line = 0;
  std::string message;
};

// Reads {"text": ...} lines a chunk at a time so the whole file never sits in memory.
class JsonlTexts {
 public:
  JsonlTexts(const std::string& path, std::string field)
      : path_(path), field_(std::move(field)), file_(path, std::ios::binary) {
    if (!file_) fail_input("cannot read " + path + ": " + std::strerror(errno));
  }

  // Appends up to `count` texts; lines that are not usable go to `errors`. False once the file is done
  // (the texts and errors of that last call still count).
  bool next(size_t count, std::vector<std::string>& texts, std::vector<LineError>& errors) {
    std::string line;
    while (texts.size() < count && std::getline(file_, line)) {
      ++line_number_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
      std::string problem;
      if (value.is_discarded())
        problem = "not valid JSON";
      else if (!value.is_object())
        problem = "expected a JSON object such as {\"" + field_ + "\": \"...\"}";
      else if (!value.contains(field_))
        problem = "missing field \"" + field_ + "\"";
      else if (!value[field_].is_string())
        problem = "field \"" + field_ + "\" is not a string";
      if (problem.empty())
        texts.push_back(value[field_].get<std::string>());
      else
        errors.push_back({line_number_, problem});
    }
    if (file_.bad()) fail_input("error while reading " + path_);
    return file_.good();
  }

 private:
  std::string path_, field_;
  std::ifstream file_;
  int64_t line_number_ = 0;
};

std::optional<NormPlacement> requested_placement(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return name == "pre" ? NormPlacement::Pre : NormPlacement::Post;
}

int run(const CompareNormsArgs& args) {
  const std::optional<NormPlacement> placement = requested_placement(args.norm_placement);
  residual_scale_for(args.residual_scale, 1);  // rejects a bad value before any model loads
  { JsonlTexts probe(args.input, args.field); }
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
    ModelOptions options;
    options.model = args.models[m];
    options.threads = args.threads;
    options.jieba_dict = args.jieba_dict;
    options.split_special_tokens = args.split_special_tokens;
    const Model model = options.load(/*need_tokenizer=*/true);
    const size_t max_length = depth_max_length(args.max_length, model.spec, args.models[m]);
    Ablation ablation;
    ablation.swap_norm_placement = placement && *placement != model.spec.norm_placement;
    ablation.residual_scale = residual_scale_for(args.residual_scale, model.spec.layers);

    // Every model reads the same lines; the bad ones are reported once, on the first pass.
    JsonlTexts reader(args.input, args.field);
    bool more = true;
    const auto next_chunk = [&](std::vector<std::string>& texts) {
      if (!more) return false;
      std::vector<LineError> chunk_errors;
      more = reader.next(args.chunk, texts, chunk_errors);
      for (const LineError& e : m == 0 ? chunk_errors : std::vector<LineError>{}) {
        if (report.skipped < static_cast<int64_t>(kReportedErrors)) {
          std::fprintf(stderr, "nspbert: skipped line %lld of %s: %s\n", static_cast<long long>(e.line),
                       args.input.c_str(), e.message.c_str());
          report.errors.push_back({e.line, e.message});
        }
        ++report.skipped;
      }
      return true;
    };
    DepthProfile profile = measure_depth(model, depth_model_label(args.models[m], report.profiles), args.models[m],
                                         ablation, max_length, next_chunk);
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
  add_tokenizer_options(app, args.jieba_dict, args.split_special_tokens);
  app.add_option("--field", args.field, "Name of the text field")->capture_default_str();
  app.add_option("--max-length", args.max_length,
                 "Truncate [CLS] text [SEP] to this many tokens (default: the position table, at most 512)")
      ->check(CLI::Range(size_t{2}, size_t{1} << 20));
  app.add_option("--format", args.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--plot", args.plot, "Write an SVG chart (three panels, one line per model) to this file");
  app.add_option("--norm-placement", args.norm_placement,
                 "ABLATION: run every model with this norm placement (pre or post), whatever it was trained with")
      ->check(CLI::IsMember({"pre", "post"}));
  app.add_option("--residual-scale", args.residual_scale,
                 "ABLATION: DeepNorm-style x <- Norm(alpha x + F(x)); a number, or 'deepnorm' for (2N)^(1/4)");
  app.add_option("--depth-threshold", args.depth_threshold,
                 "A layer counts towards the effective depth when its cosine to the previous layer is below this")
      ->check(CLI::Range(-1.0, 1.0))
      ->capture_default_str();
  app.add_option("--chunk", args.chunk, "Texts read and run per step (bounds the memory)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--threads", args.threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
}

const bool registered = register_command<CompareNormsArgs>(
    "compare-norms",
    "Per-layer residual-stream statistics (norm, relative update, cosine to the previous layer, attention "
    "entropy) of one or more models over a JSONL file of texts, as a table, JSON or an SVG plot",
    declare, run);

}  // namespace
}  // namespace nspbert::cli
