#include "models/depth_report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "tokenizer/tokenizer.h"

namespace nspbert {

using nlohmann::ordered_json;

float residual_scale_for(const std::string& text, int64_t layers) {
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

std::string depth_model_label(const std::string& dir, const std::vector<DepthProfile>& earlier) {
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

size_t depth_max_length(size_t requested, const EncoderSpec& spec, const std::string& dir) {
  const bool table = spec.position_kind == PositionKind::Absolute;
  if (requested == 0) return table ? static_cast<size_t>(std::min<int64_t>(512, spec.max_positions)) : 512;
  if (table && requested > static_cast<size_t>(spec.max_positions))
    fail_usage("--max-length " + std::to_string(requested) + " is past the position table of " + dir +
               " (max_position_embeddings " + std::to_string(spec.max_positions) + ")");
  return requested;
}

static ordered_json profile_json(const DepthProfile& p, double threshold, size_t max_length) {
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

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail_input("cannot write " + path + ": " + std::strerror(errno));
  out << text;
  out.flush();
  if (!out) fail_input("cannot write " + path + ": " + std::strerror(errno));
}

DepthProfile measure_depth(const Model& model, const std::string& label, const std::string& path,
                           const Ablation& ablation, const AttentionOptions& attention, size_t max_length,
                           const TextChunks& next_chunk) {
  StreamStatsCollector collector(*model.encoder, ablation, attention);
  std::vector<std::string> chunk;
  std::vector<Sequence> sequences;
  while (next_chunk(chunk)) {
    sequences.clear();
    for (const std::string& text : chunk) {
      Encoding encoding = encode(*model.tokenizer, text, std::nullopt, max_length);
      sequences.push_back(Sequence{std::move(encoding.ids), {}, {}, {}});
    }
    chunk.clear();
    collector.add(sequences);
  }
  return make_depth_profile(label, path, model.spec, ablation, collector.stats(), collector.sequences());
}

ordered_json DepthReport::to_json() const {
  bool any_ablation = false;
  for (const DepthProfile& p : profiles) any_ablation |= p.ablated();
  ordered_json out;
  out["ablation"] = any_ablation;
  out["input"] = input;
  out["texts"] = texts;
  out["skipped_lines"] = skipped;
  ordered_json line_errors = ordered_json::array();
  for (const DepthReportLine& e : errors) line_errors.push_back({{"line", e.line}, {"error", e.error}});
  out["errors"] = std::move(line_errors);
  ordered_json models = ordered_json::array();
  for (size_t i = 0; i < profiles.size(); ++i)
    models.push_back(profile_json(profiles[i], depth_threshold, max_lengths[i]));
  out["models"] = std::move(models);
  if (!plot.empty()) out["plot"] = plot;
  return out;
}

}  // namespace nspbert
