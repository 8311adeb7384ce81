#pragma once
// The long-input remedies of docs/methods.md §5 as a user asks for them (--attention-window,
// --logn-scale [M], --hwfa; the same keywords in Python), resolved against a model's spec.
#include <cstdint>

#include "engine/encoder_spec.h"

namespace nspbert {

struct AttentionRequest {
  int64_t window = 0;    // 0: full attention
  bool logn = false;     // scale logits by max(1, log_M n)
  double logn_base = 0;  // M; 0: the training length (max_position_embeddings)
  bool hwfa = false;     // window in all but the last layer, full attention + log-n in the last
};

AttentionOptions resolve_attention(const AttentionRequest& request, const EncoderSpec& spec);

}  // namespace nspbert
