#pragma once
// One vector per tokenised sequence: the [CLS] hidden state, the mean of the last hidden states
// over the sequence's tokens, or the tanh pooler output.
#include <optional>
#include <string_view>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/similarity/vector_math.h"

namespace nspbert {

enum class Pooling { Cls, Mean, Pooler };

std::optional<Pooling> parse_pooling(std::string_view name);  // "cls", "mean", "pooler"
const char* pooling_name(Pooling pooling);

// Fails (model error) when `pooling` is Pooler and the checkpoint has no pooler.
VectorSet sentence_vectors(const Encoder& encoder, const std::vector<Sequence>& sequences, Pooling pooling,
                           const AttentionOptions& attention);

}  // namespace nspbert
