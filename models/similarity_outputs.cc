#include "models/similarity_outputs.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops/softmax.h"
#include "engine/similarity/geodesic.h"

namespace nspbert {

std::vector<double> query_distances(const Encoder& encoder, const std::vector<Sequence>& texts_then_query,
                                    Pooling pooling, const AttentionOptions& attention, bool geodesic, int64_t k) {
  VectorSet vectors = sentence_vectors(encoder, texts_then_query, pooling, attention);
  const std::vector<float> query(vectors.row(vectors.count() - 1), vectors.row(vectors.count() - 1) + vectors.dim);
  vectors.values.resize(vectors.values.size() - vectors.dim);
  return geodesic ? geodesic_distances(vectors, query.data(), k) : cosine_distances(vectors, query.data());
}

std::vector<nlohmann::json> ranked_rows(const std::vector<double>& distances, const std::vector<std::string>& texts,
                                        const std::vector<size_t>& lines, int64_t top) {
  std::vector<nlohmann::json> results;
  for (int64_t i : nearest_first(distances)) {
    if (top > 0 && static_cast<int64_t>(results.size()) >= top) break;
    const double d = distances[i];
    nlohmann::json r = {{"text", texts[i]}, {"line", lines[i]}};
    if (std::isfinite(d)) {
      r["distance"] = d;
      r["score"] = proximity_score(d);
    } else {
      r["distance"] = nullptr;  // no path from the query in the kNN graph
      r["score"] = nullptr;
    }
    results.push_back(std::move(r));
  }
  return results;
}

void check_cross_encoder(const Encoder& encoder) {
  const int64_t outputs = encoder.classifier_outputs();
  if (outputs == 0)
    fail_model(
        "this checkpoint has no sequence-classification head (classifier.weight/bias on the pooled "
        "output); pair-score needs a cross-encoder checkpoint");
  if (outputs > 2)
    fail_model("the classifier has " + std::to_string(outputs) +
               " outputs; pair-score reads 1 (a similarity logit) or 2 (softmax, class 1 = similar)");
}

nlohmann::json pair_scores(const std::vector<float>& logits) {
  nlohmann::json r = {{"logits", logits}};
  if (logits.size() == 1) {
    // A regression / CoSENT head: the raw logit is the score; sigmoid maps it to (0, 1).
    r["score"] = logits[0];
    r["probability"] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[0])));
  } else {
    // Two classes, index 1 = similar: P(similar) = softmax(l)[1] = sigmoid(l1 - l0).
    const double p = prob_is_next(logits[1], logits[0]);
    r["score"] = p;
    r["probability"] = p;
  }
  return r;
}

}  // namespace nspbert
