#pragma once
// How a model uses its depth (docs/methods.md §2): residual-stream statistics gathered over many
// sequences with bounded memory, the per-layer profile built from them, an "effective depth"
// summary, and the table and chart that show several models side by side.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/analysis/svg_chart.h"
#include "engine/batch_runner.h"
#include "engine/encoder.h"
#include "engine/encoder_spec.h"

namespace nspbert {

// Feeds chunks of sequences through the encoder and keeps only the running sums, so the memory
// use depends on the chunk size, never on how many texts are streamed.
class StreamStatsCollector {
 public:
  StreamStatsCollector(const Encoder& encoder, const Ablation& ablation, const AttentionOptions& attention = {});
  void add(const std::vector<Sequence>& chunk);
  const StreamStats& stats() const { return stats_; }
  int64_t sequences() const { return sequences_; }

 private:
  const Encoder& encoder_;
  BatchPlan plan_;
  StreamStats stats_;
  int64_t sequences_ = 0;
};

// One model's per-layer picture. Layer t (1..L) maps x_{t-1} to x_t; x_0 is the embedding output.
struct DepthProfile {
  std::string label;  // the name outputs use for the model
  std::string path;
  Family family = Family::Bert;
  int64_t hidden = 0;
  NormPlacement checkpoint_placement = NormPlacement::Post;
  NormPlacement placement = NormPlacement::Post;  // what this run used (differs under the ablation)
  Ablation ablation;
  int64_t sequences = 0;
  int64_t tokens = 0;
  std::vector<double> norm;               // L+1 entries: mean ||x_t||, t = 0..L
  std::vector<double> relative_update;    // L entries: mean ||x_t - x_{t-1}|| / ||x_{t-1}||
  std::vector<double> cosine_next;        // L entries: mean cos(x_{t-1}, x_t)
  std::vector<double> attention_entropy;  // L entries: mean over heads and valid queries, in nats

  int64_t layers() const { return static_cast<int64_t>(cosine_next.size()); }
  bool ablated() const { return ablation.active(); }
};

DepthProfile make_depth_profile(std::string label, std::string path, const EncoderSpec& spec, const Ablation& ablation,
                                const StreamStats& stats, int64_t sequences);

// "run as pre-norm (checkpoint is post-norm), residual scale alpha = 1.41"; empty when no ablation.
std::string ablation_description(const DepthProfile& profile);

// A layer "does work" when it turns the stream by more than arccos(threshold): cosine_next < threshold.
// The other layers are near-identity maps that a wider neighbour could absorb.
struct EffectiveDepth {
  double threshold = 0.9;
  int64_t layers = 0;
  int64_t effective_layers = 0;        // layers with cosine_next < threshold
  std::vector<int64_t> near_identity;  // 1-based layers with cosine_next >= threshold
  double turning_degrees = 0;          // sum over layers of arccos(cosine_next), in degrees
};

EffectiveDepth effective_depth(const std::vector<double>& cosine_next, double threshold);
// "2 of 3 layers turn the stream (cosine_next < 0.90); near-identity: 3; total turn 95.2 degrees"
std::string effective_depth_summary(const EffectiveDepth& depth);

// The readable terminal form: one block per model, one row per layer.
std::string depth_table(const std::vector<DepthProfile>& profiles, double threshold);

// Three panels (norm, relative_update, cosine_next against layer), one line per model.
Chart depth_chart(const std::vector<DepthProfile>& profiles);

}  // namespace nspbert
