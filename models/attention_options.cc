#include "models/attention_options.h"

namespace nspbert {

AttentionOptions resolve_attention(const AttentionRequest& request, const EncoderSpec& spec) {
  AttentionOptions a;
  a.window = request.window;
  a.hwfa = request.hwfa;
  if (request.logn || request.hwfa) {
    a.logn_base = request.logn_base > 1 ? request.logn_base : static_cast<double>(spec.max_positions);
    a.logn_at_least_one = true;
  }
  if (request.hwfa && a.window == 0) a.window = spec.max_positions;
  return a;
}

}  // namespace nspbert
