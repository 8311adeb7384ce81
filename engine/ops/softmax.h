#pragma once
// Numerically stable softmax family: always max-subtracted, logs through log-sum-exp.
#include <cstdint>

namespace nspbert {

double logsumexp(const float* x, int64_t n);
void softmax_inplace(float* x, int64_t n);
void log_softmax(const float* x, float* out, int64_t n);
// P(IsNext) from the two NSP logits: softmax(l)[0] = sigmoid(l0 - l1), without overflow.
double prob_is_next(float logit_is_next, float logit_not_next);

}  // namespace nspbert
