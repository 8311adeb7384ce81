#include "engine/similarity/sentence_vectors.h"

#include "engine/error.h"

namespace nspbert {

std::optional<Pooling> parse_pooling(std::string_view name) {
  if (name == "cls") return Pooling::Cls;
  if (name == "mean") return Pooling::Mean;
  if (name == "pooler") return Pooling::Pooler;
  return std::nullopt;
}

const char* pooling_name(Pooling pooling) {
  switch (pooling) {
    case Pooling::Cls: return "cls";
    case Pooling::Mean: return "mean";
    case Pooling::Pooler: return "pooler";
  }
  return "?";
}

VectorSet sentence_vectors(const Encoder& encoder, const std::vector<Sequence>& sequences, Pooling pooling,
                           const AttentionOptions& attention) {
  if (pooling == Pooling::Pooler && !encoder.heads().pooler)
    fail_model("this checkpoint has no pooler (pooler.dense), so 'pooler' pooling is unavailable; use mean or cls");
  BatchPlan plan;
  plan.attention = attention;
  plan.cls_hidden = pooling == Pooling::Cls;
  plan.mean_hidden = pooling == Pooling::Mean;
  plan.pooled = pooling == Pooling::Pooler;
  VectorSet out;
  out.dim = encoder.spec().hidden;
  out.values.reserve(sequences.size() * out.dim);
  for (const SequenceOutputs& r : run_sequences(encoder, sequences, plan)) {
    const std::vector<float>& v = pooling == Pooling::Cls    ? r.cls_hidden
                                  : pooling == Pooling::Mean ? r.mean_hidden
                                                             : r.pooled;
    out.append(v.data());
  }
  return out;
}

}  // namespace nspbert
