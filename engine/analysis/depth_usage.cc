#include "engine/analysis/depth_usage.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nspbert {

namespace {

constexpr double kPi = 3.14159265358979323846;

NormPlacement other(NormPlacement p) { return p == NormPlacement::Pre ? NormPlacement::Post : NormPlacement::Pre; }

std::string placement_words(NormPlacement p) { return std::string(norm_placement_name(p)) + "-norm"; }

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Four decimals for ordinary magnitudes, scientific notation for very small or very large ones.
std::string cell(double v) {
  char buf[48];
  const double a = std::fabs(v);
  if (v == 0 || (a >= 1e-3 && a < 1e6))
    std::snprintf(buf, sizeof buf, "%.4f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string legend_label(const DepthProfile& p) {
  std::string label = p.label + " (" + placement_words(p.placement) + ")";
  if (!p.ablated()) return label;
  label += " [ablation:";
  if (p.ablation.swap_norm_placement) label += " trained " + placement_words(p.checkpoint_placement);
  if (p.ablation.residual_scale != 1.0f)
    label += std::string(p.ablation.swap_norm_placement ? "," : "") + " alpha " + fixed(p.ablation.residual_scale, 3);
  return label + "]";
}

}  // namespace

StreamStatsCollector::StreamStatsCollector(const Encoder& encoder, const Ablation& ablation,
                                           const AttentionOptions& attention)
    : encoder_(encoder) {
  plan_.stats = true;
  plan_.ablation = ablation;
  plan_.attention = attention;
}

void StreamStatsCollector::add(const std::vector<Sequence>& chunk) {
  if (chunk.empty()) return;
  run_sequences(encoder_, chunk, plan_, &stats_);
  sequences_ += static_cast<int64_t>(chunk.size());
}

DepthProfile make_depth_profile(std::string label, std::string path, const EncoderSpec& spec, const Ablation& ablation,
                                const StreamStats& stats, int64_t sequences) {
  DepthProfile p;
  p.label = std::move(label);
  p.path = std::move(path);
  p.family = spec.family;
  p.hidden = spec.hidden;
  p.checkpoint_placement = spec.norm_placement;
  p.placement = ablation.swap_norm_placement ? other(spec.norm_placement) : spec.norm_placement;
  p.ablation = ablation;
  p.sequences = sequences;
  p.tokens = stats.tokens;
  p.norm = stats.norm();
  p.relative_update = stats.relative_update();
  p.cosine_next = stats.cosine_next();
  p.attention_entropy = stats.attention_entropy();
  return p;
}

std::string ablation_description(const DepthProfile& p) {
  std::string text;
  if (p.ablation.swap_norm_placement)
    text =
        "run as " + placement_words(p.placement) + " (checkpoint is " + placement_words(p.checkpoint_placement) + ")";
  if (p.ablation.residual_scale != 1.0f) {
    if (!text.empty()) text += ", ";
    text += "residual scale alpha = " + fixed(p.ablation.residual_scale, 4) +
            (p.placement == NormPlacement::Post ? " (x <- Norm(alpha x + F(x)))" : " (x <- alpha x + F(Norm(x)))");
  }
  return text;
}

EffectiveDepth effective_depth(const std::vector<double>& cosine_next, double threshold) {
  EffectiveDepth d;
  d.threshold = threshold;
  d.layers = static_cast<int64_t>(cosine_next.size());
  for (size_t t = 0; t < cosine_next.size(); ++t) {
    const double c = cosine_next[t];
    if (!std::isfinite(c)) continue;
    if (c < threshold)
      ++d.effective_layers;
    else
      d.near_identity.push_back(static_cast<int64_t>(t) + 1);
    d.turning_degrees += std::acos(std::clamp(c, -1.0, 1.0)) * 180.0 / kPi;
  }
  return d;
}

std::string effective_depth_summary(const EffectiveDepth& d) {
  std::string text = "effective depth " + std::to_string(d.effective_layers) + " of " + std::to_string(d.layers) +
                     " layers (cosine_next < " + fixed(d.threshold, 2) + "); near-identity layers: ";
  if (d.near_identity.empty()) text += "none";
  for (size_t i = 0; i < d.near_identity.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(d.near_identity[i]);
  }
  text += "; total turn " + fixed(d.turning_degrees, 1) + " degrees";
  return text;
}

std::string depth_table(const std::vector<DepthProfile>& profiles, double threshold) {
  std::string out;
  const size_t w = 13;
  for (size_t m = 0; m < profiles.size(); ++m) {
    const DepthProfile& p = profiles[m];
    if (m) out += "\n";
    out += p.label + "  (" + family_name(p.family) + ", " + placement_words(p.placement) + ", " +
           std::to_string(p.layers()) + " layers, hidden " + std::to_string(p.hidden) + "; " +
           std::to_string(p.sequences) + " texts, " + std::to_string(p.tokens) + " tokens)\n";
    if (p.ablated()) out += "  ABLATION: " + ablation_description(p) + "\n";
    out += "  " + pad_right("layer", 10) + pad_left("norm", w) + pad_left("rel_update", w) + pad_left("cos_prev", w) +
           pad_left("attn_entropy", w + 1) + "\n";
    for (int64_t t = 0; t <= p.layers(); ++t) {
      const bool embeddings = t == 0;
      const auto at = [&](const std::vector<double>& v) {
        return embeddings || t - 1 >= static_cast<int64_t>(v.size()) ? std::string("-") : cell(v[t - 1]);
      };
      out += "  " + pad_right(embeddings ? "0 (emb)" : std::to_string(t), 10) +
             pad_left(t < static_cast<int64_t>(p.norm.size()) ? cell(p.norm[t]) : "-", w) +
             pad_left(at(p.relative_update), w) + pad_left(at(p.cosine_next), w) +
             pad_left(at(p.attention_entropy), w + 1) + "\n";
    }
    out += "  " + effective_depth_summary(effective_depth(p.cosine_next, threshold)) + "\n";
  }
  return out;
}

Chart depth_chart(const std::vector<DepthProfile>& profiles) {
  Chart chart;
  bool any_ablation = false;
  for (const DepthProfile& p : profiles) any_ablation |= p.ablated();
  chart.title =
      any_ablation ? "ABLATION - residual stream by layer" : "Residual stream by layer: Pre-Norm vs Post-Norm";
  if (any_ablation)
    chart.subtitle = "ablation: the forward pass was changed as the legend says; not the checkpoints as trained";

  ChartPanel norm{"norm", "stream norm (mean)", "layer (0 = embeddings)", "||x(t)||", {}, true, true};
  ChartPanel update{
      "relative_update", "relative update (mean)", "layer t", "||x(t) - x(t-1)|| / ||x(t-1)||", {}, true, true, true};
  ChartPanel cosine{"cosine_next", "cosine to previous layer (mean)", "layer t", "cos(x(t-1), x(t))", {}, false, true};
  for (const DepthProfile& p : profiles) {
    ChartSeries n, u, c;
    for (size_t t = 0; t < p.norm.size(); ++t) {
      n.x.push_back(static_cast<double>(t));
      n.y.push_back(p.norm[t]);
    }
    for (size_t t = 0; t < p.relative_update.size(); ++t) {
      u.x.push_back(static_cast<double>(t + 1));
      u.y.push_back(p.relative_update[t]);
    }
    for (size_t t = 0; t < p.cosine_next.size(); ++t) {
      c.x.push_back(static_cast<double>(t + 1));
      c.y.push_back(p.cosine_next[t]);
    }
    norm.series.push_back(std::move(n));
    update.series.push_back(std::move(u));
    cosine.series.push_back(std::move(c));
    chart.legend.push_back({legend_label(p), p.placement == NormPlacement::Pre});
  }
  chart.panels = {std::move(norm), std::move(update), std::move(cosine)};
  return chart;
}

}  // namespace nspbert
