#pragma once
// compare-norms (docs/methods.md §2) as a library: one model's depth profile measured over texts, and
// the JSON report `nspbert compare-norms --format json` prints (tools/cli/compare_norms.cc; the
// Python nspbert.compare_norms returns the same object).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/analysis/depth_usage.h"
#include "models/model.h"

namespace nspbert {

// Empty -> 1; "deepnorm" -> (2N)^(1/4) for an N-layer encoder; otherwise a positive number (usage error).
float residual_scale_for(const std::string& text, int64_t layers);

// 0: the model's position table, at most 512 (512 for RoPE models); past an absolute table: usage error.
size_t depth_max_length(size_t requested, const EncoderSpec& spec, const std::string& dir);

// The folder's name, made unique among the profiles measured before ("name #2").
std::string depth_model_label(const std::string& dir, const std::vector<DepthProfile>& earlier);

// Fills `texts` (cleared first) with the next chunk; false once nothing is left.
using TextChunks = std::function<bool(std::vector<std::string>& texts)>;

// Runs every text as [CLS] text [SEP] (cut to max_length) and keeps only the running sums.
DepthProfile measure_depth(const Model& model, const std::string& label, const std::string& path,
                           const Ablation& ablation, const AttentionOptions& attention, size_t max_length,
                           const TextChunks& next_chunk);

// Writes `text` to `path` (the --plot SVG); input error naming the path when it cannot.
void write_text_file(const std::string& path, const std::string& text);

struct DepthReportLine {
  int64_t line = 0;
  std::string error;
};

struct DepthReport {
  std::vector<DepthProfile> profiles;
  std::vector<size_t> max_lengths;  // per profile
  double depth_threshold = 0.9;
  std::string input;
  int64_t texts = 0;
  int64_t skipped = 0;
  std::vector<DepthReportLine> errors;  // the first few skipped lines
  std::string plot;                     // empty: none written

  nlohmann::ordered_json to_json() const;
};

}  // namespace nspbert
