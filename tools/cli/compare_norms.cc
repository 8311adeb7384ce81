// nspbert compare-norms: how Pre-Norm and Post-Norm models use their depth (METHODS.md §2).
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
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/analysis/depth_usage.h"
#include "engine/error.h"
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
};

struct LineError {
  int64_t line = 0;
  std::string message;
};

// Reads {"text": ...} lines a chunk at a time so the whole file never sits in memory.
class JsonlTexts {
 public:
  JsonlTexts(const std::string& path, std::string field) : path_(path), field_(std::move(field)), file_(path, std::ios::binary) {
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

// Empty -> 1; "deepnorm" -> (2N)^(1/4) for an N-layer encoder; otherwise a positive number.
float residual_scale(const std::string& text, int64_t layers) {
  if (text.empty()) return 1.0f;
  if (text == "deepnorm") return static_cast<float>(std::pow(2.0 * static_cast<double>(layers), 0.25));
  size_t used = 0;
  double alpha = 0;
  try {
    alpha = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(alpha) || alpha <= 0 || alpha > 1e6)
    fail_usage("--residual-scale must be a positive number or 'deepnorm', got '" + text + "'");
  return static_cast<float>(alpha);
}

std::string model_label(const std::string& dir, const std::vector<DepthProfile>& earlier) {
  std::string trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::string label = std::filesystem::path(trimmed).filename().string();
  if (label.empty() || label == "." || label == "..")
    label = std::filesystem::absolute(trimmed).lexically_normal().filename().string();
  if (label.empty()) label = dir;
  const std::string base = label;
  for (int n = 2;; ++n) {
    bool taken = false;
    for (const DepthProfile& p : earlier) taken |= p.label == label;
    if (!taken) return label;
    label = base + " #" + std::to_string(n);
  }
}

size_t resolve_max_length(size_t requested, const EncoderSpec& spec, const std::string& dir) {
  const bool table = spec.position_kind == PositionKind::Absolute;
  if (requested == 0) return table ? static_cast<size_t>(std::min<int64_t>(512, spec.max_positions)) : 512;
  if (table && requested > static_cast<size_t>(spec.max_positions))
    fail_usage("--max-length " + std::to_string(requested) + " is past the position table of " + dir +
               " (max_position_embeddings " + std::to_string(spec.max_positions) + ")");
  return requested;
}

ordered_json profile_json(const DepthProfile& p, double threshold, size_t max_length) {
  const EffectiveDepth depth = effective_depth(p.cosine_next, threshold);
  ordered_json ablation = nullptr;
  if (p.ablated())
    ablation = {{"description", "ABLATION: " + ablation_description(p)},
                {"norm_placement", norm_placement_name(p.placement)},
                {"residual_scale", p.ablation.residual_scale}};
  return {{"model", p.label},
          {"path", p.path},
          {"family", family_name(p.family)},
          {"layers", p.layers()},
          {"hidden", p.hidden},
          {"norm_placement", norm_placement_name(p.placement)},
          {"checkpoint_norm_placement", norm_placement_name(p.checkpoint_placement)},
          {"ablation", ablation},
          {"max_length", max_length},
          {"texts", p.sequences},
          {"tokens", p.tokens},
          {"stream_stats",
           {{"norm", p.norm},
            {"relative_update", p.relative_update},
            {"cosine_next", p.cosine_next},
            {"attention_entropy", p.attention_entropy}}},
          {"effective_depth",
           {{"threshold", depth.threshold},
            {"layers", depth.layers},
            {"effective_layers", depth.effective_layers},
            {"near_identity_layers", depth.near_identity},
            {"turning_degrees", depth.turning_degrees},
            {"summary", effective_depth_summary(depth)}}}};
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail_input("cannot write " + path + ": " + std::strerror(errno));
  out << text;
  out.flush();
  if (!out) fail_input("cannot write " + path + ": " + std::strerror(errno));
}

int run(const CompareNormsArgs& args) {
  const std::optional<NormPlacement> placement = requested_placement(args.norm_placement);
  residual_scale(args.residual_scale, 1);  // rejects a bad value before any model loads
  { JsonlTexts probe(args.input, args.field); }
  if (!args.plot.empty()) {
    // Fail before minutes of encoder work rather than after.
    const std::filesystem::path dir = std::filesystem::path(args.plot).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      fail_input("cannot write " + args.plot + ": folder " + dir.string() + " does not exist");
  }

  std::vector<DepthProfile> profiles;
  std::vector<size_t> max_lengths;
  std::vector<LineError> errors;
  int64_t skipped = 0, texts = 0;
  for (size_t m = 0; m < args.models.size(); ++m) {
    ModelOptions options;
    options.model = args.models[m];
    options.threads = args.threads;
    const Model model = options.load(/*need_tokenizer=*/true);
    const size_t max_length = resolve_max_length(args.max_length, model.spec, args.models[m]);

    Ablation ablation;
    ablation.swap_norm_placement = placement && *placement != model.spec.norm_placement;
    ablation.residual_scale = residual_scale(args.residual_scale, model.spec.layers);
    StreamStatsCollector collector(*model.encoder, ablation);

    // Every model reads the same lines; the bad ones are reported once, on the first pass.
    JsonlTexts reader(args.input, args.field);
    std::vector<std::string> chunk;
    std::vector<LineError> chunk_errors;
    std::vector<Sequence> sequences;
    for (bool more = true; more;) {
      more = reader.next(args.chunk, chunk, chunk_errors);
      if (m == 0) {
        for (const LineError& e : chunk_errors) {
          if (skipped < static_cast<int64_t>(kReportedErrors)) {
            std::fprintf(stderr, "nspbert: skipped line %lld of %s: %s\n", static_cast<long long>(e.line),
                         args.input.c_str(), e.message.c_str());
            errors.push_back(e);
          }
          ++skipped;
        }
      }
      chunk_errors.clear();
      sequences.clear();
      for (const std::string& text : chunk) {
        Encoding encoding = encode(*model.tokenizer, text, std::nullopt, max_length);
        sequences.push_back(Sequence{std::move(encoding.ids), {}, {}, {}});
      }
      chunk.clear();
      collector.add(sequences);
    }
    if (m > 0 && collector.sequences() != texts)
      fail_input(args.input + " read differently for the second model; with several models --input must be a "
                 "regular file, not a pipe");
    if (collector.sequences() == 0)
      fail_input(args.input + " has no usable text" +
                 (skipped ? " (" + std::to_string(skipped) + " invalid lines skipped)" : std::string()));
    texts = collector.sequences();
    profiles.push_back(make_depth_profile(model_label(args.models[m], profiles), args.models[m], model.spec, ablation,
                                          collector.stats(), collector.sequences()));
    max_lengths.push_back(max_length);
  }
  if (skipped > static_cast<int64_t>(kReportedErrors))
    std::fprintf(stderr, "nspbert: skipped %lld invalid lines in %s in all\n", static_cast<long long>(skipped),
                 args.input.c_str());

  bool any_ablation = false;
  for (const DepthProfile& p : profiles) any_ablation |= p.ablated();
  if (!args.plot.empty()) write_file(args.plot, render_svg(depth_chart(profiles)));

  if (args.format == "json") {
    ordered_json out;
    out["ablation"] = any_ablation;
    out["input"] = args.input;
    out["texts"] = texts;
    out["skipped_lines"] = skipped;
    ordered_json line_errors = ordered_json::array();
    for (const LineError& e : errors) line_errors.push_back({{"line", e.line}, {"error", e.message}});
    out["errors"] = std::move(line_errors);
    ordered_json models = ordered_json::array();
    for (size_t i = 0; i < profiles.size(); ++i)
      models.push_back(profile_json(profiles[i], args.depth_threshold, max_lengths[i]));
    out["models"] = std::move(models);
    if (!args.plot.empty()) out["plot"] = args.plot;
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::string header = std::string(any_ablation ? "ABLATION RUN - " : "") + "residual stream over " +
                         std::to_string(texts) + " texts from " + args.input;
    if (skipped) header += " (" + std::to_string(skipped) + " invalid lines skipped)";
    std::cout << header << "\n"
              << "layer t row: norm of x(t); rel_update and cos_prev compare x(t) with x(t-1)\n\n"
              << depth_table(profiles, args.depth_threshold);
    if (!args.plot.empty()) std::cout << "\nplot written to " << args.plot << "\n";
  }
  std::cout.flush();
  return skipped ? 1 : 0;
}

void declare(CLI::App& app, CompareNormsArgs& args) {
  app.add_option("--model", args.models, "Model folder; repeat to compare several models")->required();
  app.add_option("--input", args.input, "JSONL file, one {\"text\": ...} per line")->required();
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

const bool registered = register_command<CompareNormsArgs>("compare-norms",
    "Per-layer residual-stream statistics (norm, relative update, cosine to the previous layer, attention "
    "entropy) of one or more models over a JSONL file of texts, as a table, JSON or an SVG plot", declare, run);

}  // namespace
}  // namespace nspbert::cli
