#pragma once
// What rank and pair-score print per text, shared by the CLI (tools/cli/rank.cc, pair_score.cc)
// and the Python package so both give the same objects.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/encoder.h"
#include "engine/similarity/sentence_vectors.h"

namespace nspbert {

// rank: distances from the last sequence (the query) to each of the others, cosine or geodesic
// over their sentence vectors (k: neighbours per node of the geodesic kNN graph).
std::vector<double> query_distances(const Encoder& encoder, const std::vector<Sequence>& texts_then_query,
                                    Pooling pooling, const AttentionOptions& attention, bool geodesic, int64_t k);

// rank: {"text", "line", "distance", "score"} nearest first, at most `top` (0: all); a text with no
// path from the query in the kNN graph gets null distance and score.
std::vector<nlohmann::json> ranked_rows(const std::vector<double>& distances, const std::vector<std::string>& texts,
                                        const std::vector<size_t>& lines, int64_t top);

// Fails (model error) unless the checkpoint has a 1- or 2-output sequence-classification head.
void check_cross_encoder(const Encoder& encoder);

// pair-score: {"logits", "score", "probability"} from the classifier logits.
nlohmann::json pair_scores(const std::vector<float>& logits);

}  // namespace nspbert
