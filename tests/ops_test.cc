// Every op against a plain C++ loop written here from the formulas, never from the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/error.h"
#include "engine/ops/attention.h"
#include "engine/ops/linear.h"
#include "engine/ops/norm.h"
#include "engine/ops/softmax.h"

using namespace nspbert;

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double gelu_erf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) { return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "at " << i;
}

}  // namespace

class LinearTest : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(LinearTest, MatchesLoopWithEveryEpilogue) {
  const auto [rows, in, out] = GetParam();
  const auto w = random_vector(in * out, 1, 0.2f), b = random_vector(out, 2), x = random_vector(rows * in, 3);
  const int64_t padded = Linear::padded_rows(rows);
  std::vector<float> xp(padded * in, 0.0f);
  std::copy(x.begin(), x.end(), xp.begin());
  for (Activation act : {Activation::GeluErf, Activation::GeluTanh, Activation::Relu, Activation::Silu}) {
    Linear linear(in, out, w, b, act);
    std::vector<double> plain(rows * out);
    for (int r = 0; r < rows; ++r)
      for (int o = 0; o < out; ++o) {
        double s = b[o];
        for (int i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * w[o * in + i];
        plain[r * out + o] = s;
      }
    std::vector<float> y(padded * out, 0.0f);
    linear.forward(xp.data(), rows, y.data());
    expect_close(std::vector<float>(y.begin(), y.begin() + rows * out), plain, 1e-4);

    linear.forward(xp.data(), rows, y.data(), Epilogue::Activation);
    std::vector<double> activated(plain);
    for (auto& v : activated) {
      switch (act) {
        case Activation::GeluErf: v = gelu_erf(v); break;
        case Activation::GeluTanh: v = gelu_tanh(v); break;
        case Activation::Relu: v = v > 0 ? v : 0; break;
        case Activation::Silu: v = v / (1 + std::exp(-v)); break;
      }
    }
    expect_close(std::vector<float>(y.begin(), y.begin() + rows * out), activated, 1e-4);

    std::vector<float> residual(padded * out, 0.5f);
    linear.forward(xp.data(), rows, residual.data(), Epilogue::AddToOutput);
    std::vector<double> summed(plain);
    for (auto& v : summed) v += 0.5;
    expect_close(std::vector<float>(residual.begin(), residual.begin() + rows * out), summed, 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearTest,
                         ::testing::Values(std::make_tuple(1, 8, 3), std::make_tuple(17, 32, 96),
                                           std::make_tuple(300, 64, 48), std::make_tuple(5, 64, 2)));

TEST(Linear, WithoutBias) {
  const int rows = 7, in = 16, out = 12;
  const auto w = random_vector(in * out, 4), x = random_vector(Linear::padded_rows(rows) * in, 5);
  Linear linear(in, out, w, {});
  std::vector<float> y(Linear::padded_rows(rows) * out);
  linear.forward(x.data(), rows, y.data());
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double s = 0;
      for (int i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * w[o * in + i];
      ASSERT_NEAR(y[r * out + o], s, 1e-4);
    }
}

TEST(Norm, LayerNormMatchesLoop) {
  const int rows = 5, width = 48;
  auto x = random_vector(rows * width, 6, 30.0f);
  NormWeights n{NormKind::LayerNorm, random_vector(width, 7), random_vector(width, 8), 1e-12f};
  std::vector<float> out(x.size());
  normalize_rows(n, x.data(), out.data(), rows, width);
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < width; ++i) mean += x[r * width + i];
    mean /= width;
    for (int i = 0; i < width; ++i) var += std::pow(x[r * width + i] - mean, 2);
    var /= width;
    for (int i = 0; i < width; ++i)
      ASSERT_NEAR(out[r * width + i], (x[r * width + i] - mean) / std::sqrt(var + 1e-12) * n.gain[i] + n.bias[i], 1e-4);
  }
}

TEST(Norm, RmsWithoutGainMatchesLoop) {
  const int rows = 3, width = 32;
  auto x = random_vector(rows * width, 9, 5.0f);
  NormWeights n{NormKind::RmsNoGain, {}, {}, 1e-12f};
  std::vector<float> out(x.size());
  normalize_rows(n, x.data(), out.data(), rows, width);
  for (int r = 0; r < rows; ++r) {
    double ms = 0;
    for (int i = 0; i < width; ++i) ms += std::pow(x[r * width + i], 2);
    ms /= width;
    for (int i = 0; i < width; ++i) ASSERT_NEAR(out[r * width + i], x[r * width + i] / std::sqrt(ms + 1e-12), 1e-5);
  }
}

TEST(Softmax, StableForHugeLogits) {
  std::vector<float> x{1000.0f, 999.0f, -1000.0f};
  EXPECT_NEAR(logsumexp(x.data(), 3), 1000.0 + std::log(1.0 + std::exp(-1.0)), 1e-4);
  std::vector<float> lp(3);
  log_softmax(x.data(), lp.data(), 3);
  EXPECT_NEAR(lp[0], -std::log(1.0 + std::exp(-1.0)), 1e-5);
  EXPECT_TRUE(std::isfinite(lp[2]));
  softmax_inplace(x.data(), 3);
  EXPECT_NEAR(x[0] + x[1] + x[2], 1.0, 1e-6);
  EXPECT_NEAR(prob_is_next(800.0f, -800.0f), 1.0, 1e-12);
  EXPECT_NEAR(prob_is_next(-800.0f, 800.0f), 0.0, 1e-12);
  EXPECT_NEAR(prob_is_next(1.0f, 0.0f), 1.0 / (1.0 + std::exp(-1.0)), 1e-9);
}

// Plain attention over one padded [T] sequence, the way the reference writes it.
static std::vector<double> plain_attention(const std::vector<float>& qkv, int T, int H, int heads,
                                           const std::vector<int>& mask, int window, double logn_base, bool rotary) {
  const int d = H / heads;
  std::vector<float> q(T * H), k(T * H), v(T * H);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < H; ++i) {
      q[t * H + i] = qkv[t * 3 * H + i];
      k[t * H + i] = qkv[t * 3 * H + H + i];
      v[t * H + i] = qkv[t * 3 * H + 2 * H + i];
    }
  if (rotary) {
    for (auto* m : {&q, &k})
      for (int t = 0; t < T; ++t)
        for (int h = 0; h < heads; ++h)
          for (int i = 0; i < d / 2; ++i) {
            const double angle = t / std::pow(10000.0, 2.0 * i / d);
            float& a = (*m)[t * H + h * d + 2 * i];
            float& b = (*m)[t * H + h * d + 2 * i + 1];
            const double a0 = a, b0 = b;
            a = static_cast<float>(a0 * std::cos(angle) - b0 * std::sin(angle));
            b = static_cast<float>(b0 * std::cos(angle) + a0 * std::sin(angle));
          }
  }
  int n = 0;
  for (int m : mask) n += m;
  double scale = 1.0 / std::sqrt(d);
  if (logn_base > 0) scale *= std::log(n) / std::log(logn_base);
  std::vector<double> ctx(T * H, 0.0);
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < T; ++i) {
      std::vector<double> s(T, -std::numeric_limits<double>::infinity());
      double mx = -std::numeric_limits<double>::infinity();
      for (int j = 0; j < T; ++j) {
        if (!mask[j] || (window > 0 && std::abs(i - j) > window)) continue;
        double dot = 0;
        for (int x = 0; x < d; ++x) dot += static_cast<double>(q[i * H + h * d + x]) * k[j * H + h * d + x];
        s[j] = dot * scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (int j = 0; j < T; ++j) sum += std::isfinite(s[j]) ? std::exp(s[j] - mx) : 0.0;
      for (int j = 0; j < T; ++j) {
        if (!std::isfinite(s[j])) continue;
        const double p = std::exp(s[j] - mx) / sum;
        for (int x = 0; x < d; ++x) ctx[i * H + h * d + x] += p * v[j * H + h * d + x];
      }
    }
  return ctx;
}

struct AttentionCase {
  int window;
  double logn_base;
  bool rotary;
  bool bf16 = false;  // Q K^T and P V in bf16: 8 mantissa bits, so a percent-level tolerance
  // Sequence lengths: two short ones, many short ones (tasks spread over threads), or long ones
  // (several 64-row query blocks per sequence, the last one partial).
  enum Lengths { TwoShort, ManyShort, Long } lengths = TwoShort;
};

class AttentionTest : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(AttentionTest, PackedSequencesMatchPaddedLoop) {
  const AttentionCase c = GetParam();
  // Sequences of these lengths, packed back to back.
  const std::vector<int> lengths = c.lengths == AttentionCase::ManyShort
                                       ? std::vector<int>{11, 6, 9, 1, 11, 4, 7, 10, 2}
                                   : c.lengths == AttentionCase::Long ? std::vector<int>{150, 70, 3}
                                                                      : std::vector<int>{11, 6};
  const int H = 16, heads = 2, T = *std::max_element(lengths.begin(), lengths.end());
  AttentionLayout layout;
  layout.hidden = H;
  layout.heads = heads;
  int64_t rows = 0;
  for (int len : lengths) {
    layout.sequences.push_back({rows, len, len});
    for (int t = 0; t < len; ++t) {
      layout.positions.push_back(t);
      layout.is_key.push_back(1);
    }
    rows += len;
  }
  auto qkv = random_vector(rows * 3 * H, 10);
  std::vector<float> packed_qkv = qkv;
  if (c.rotary) apply_rotary(layout, packed_qkv.data(), rows, false);
  std::vector<float> context(rows * H, 0.0f);
  AttentionSettings settings{c.window, c.logn_base, false, c.bf16};
  self_attention(layout, settings, packed_qkv.data(), context.data());

  int64_t first = 0;
  for (int len : lengths) {
    std::vector<float> padded(T * 3 * H, 0.0f);
    std::copy(qkv.begin() + first * 3 * H, qkv.begin() + (first + len) * 3 * H, padded.begin());
    std::vector<int> mask(T, 0);
    for (int t = 0; t < len; ++t) mask[t] = 1;
    const auto want = plain_attention(padded, T, H, heads, mask, c.window, c.logn_base, c.rotary);
    for (int t = 0; t < len; ++t)
      for (int i = 0; i < H; ++i) ASSERT_NEAR(context[(first + t) * H + i], want[t * H + i], c.bf16 ? 2e-2 : 1e-4);
    first += len;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, AttentionTest,
                         ::testing::Values(AttentionCase{0, 0, false}, AttentionCase{3, 0, false},
                                           AttentionCase{0, 4.0, false}, AttentionCase{2, 4.0, true},
                                           AttentionCase{0, 0, true}, AttentionCase{0, 0, false, true},
                                           AttentionCase{3, 4.0, true, true},
                                           AttentionCase{0, 0, false, true, AttentionCase::ManyShort},
                                           AttentionCase{3, 4.0, true, true, AttentionCase::ManyShort},
                                           AttentionCase{0, 0, false, false, AttentionCase::Long},
                                           AttentionCase{5, 8.0, true, false, AttentionCase::Long},
                                           AttentionCase{0, 0, false, true, AttentionCase::Long},
                                           AttentionCase{5, 8.0, true, true, AttentionCase::Long}));

TEST(Attention, EntropyOfUniformAttentionIsLogN) {
  const int H = 4, heads = 1, T = 5;
  AttentionLayout layout{H, heads, {{0, T, T}}, {0, 1, 2, 3, 4}, {1, 1, 1, 1, 1}};
  std::vector<float> qkv(T * 3 * H, 0.0f);  // q = 0: every key scores the same
  for (int t = 0; t < T; ++t) qkv[t * 3 * H + 2 * H] = static_cast<float>(t);
  std::vector<float> context(T * H);
  AttentionEntropy entropy;
  self_attention(layout, {}, qkv.data(), context.data(), &entropy);
  EXPECT_EQ(entropy.count, T);
  EXPECT_NEAR(entropy.sum / entropy.count, std::log(5.0), 1e-6);
  EXPECT_NEAR(context[0], 2.0, 1e-6);  // mean of 0..4
}

// Reduced precision against the same plain loop, with tolerances from the format: bf16 keeps 8
// mantissa bits (relative 2^-8 per operand), int8 per-tensor/per-channel quantisation 1/255 and 1/254.
class ReducedPrecisionTest : public ::testing::TestWithParam<Precision> {};

TEST_P(ReducedPrecisionTest, CloseToF32Loop) {
  const Precision precision = GetParam();
  const int rows = 37, in = 64, out = 80;
  const auto w = random_vector(in * out, 11, 0.1f), b = random_vector(out, 12), x = random_vector(rows * in, 13);
  std::vector<float> xp(Linear::padded_rows(rows) * in, 0.0f), y(Linear::padded_rows(rows) * out, 0.0f);
  std::copy(x.begin(), x.end(), xp.begin());
  Linear linear(in, out, w, b, Activation::Relu, precision);
  linear.forward(xp.data(), rows, y.data());
  double worst = 0, scale = 0;
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double s = b[o], magnitude = 0;
      for (int i = 0; i < in; ++i) {
        s += static_cast<double>(x[r * in + i]) * w[o * in + i];
        magnitude += std::fabs(static_cast<double>(x[r * in + i]) * w[o * in + i]);
      }
      worst = std::max(worst, std::fabs(y[r * out + o] - s) / magnitude);
      scale = std::max(scale, std::fabs(s));
    }
  EXPECT_LT(worst, precision == Precision::BF16 ? 1.0 / 128 : 1.0 / 64);
  EXPECT_GT(worst, 0.0);  // the reduced path really ran
  std::vector<float> residual(y.size(), 1.0f), plain(y.size(), 0.0f);
  linear.forward(xp.data(), rows, plain.data());
  linear.forward(xp.data(), rows, residual.data(), Epilogue::AddToOutput);
  for (int i = 0; i < rows * out; ++i) ASSERT_NEAR(residual[i], plain[i] + 1.0f, 1e-5);
  linear.forward(xp.data(), rows, y.data(), Epilogue::Activation);
  for (int i = 0; i < rows * out; ++i) ASSERT_NEAR(y[i], std::max(plain[i], 0.0f), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Precisions, ReducedPrecisionTest, ::testing::Values(Precision::BF16, Precision::Int8));

// The bf16 FFN chain (bf16 and int8 layers): the first GEMM writes its activated output in bf16,
// the second reads it and adds into the residual; compared with the same two layers as a plain f32 loop.
class Bf16IntermediateTest : public ::testing::TestWithParam<Precision> {};

TEST_P(Bf16IntermediateTest, ChainMatchesF32Loop) {
  const Precision precision = GetParam();
  const int rows = 21, in = 48, mid = 96;
  const auto w1 = random_vector(mid * in, 21, 0.1f), b1 = random_vector(mid, 22);
  const auto w2 = random_vector(in * mid, 23, 0.1f), b2 = random_vector(in, 24), x = random_vector(rows * in, 25);
  const int64_t padded = Linear::padded_rows(rows);
  std::vector<float> xp(padded * in, 0.0f), y(padded * in, 1.0f);
  std::copy(x.begin(), x.end(), xp.begin());
  std::vector<uint16_t> hidden(padded * mid, 0);
  Linear first(in, mid, w1, b1, Activation::Relu, precision), second(mid, in, w2, b2, Activation::Relu, precision);
  first.forward_bf16_output(xp.data(), rows, hidden.data(), Epilogue::Activation);
  second.forward_bf16_input(hidden.data(), rows, y.data(), Epilogue::AddToOutput);
  double worst = 0;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> h(mid);
    for (int m = 0; m < mid; ++m) {
      double s = b1[m];
      for (int i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * w1[m * in + i];
      h[m] = std::max(s, 0.0);
    }
    for (int o = 0; o < in; ++o) {
      double s = 1.0 + b2[o], magnitude = 1.0;
      for (int m = 0; m < mid; ++m) {
        s += h[m] * w2[o * mid + m];
        magnitude += std::fabs(h[m] * w2[o * mid + m]);
      }
      worst = std::max(worst, std::fabs(y[r * in + o] - s) / magnitude);
    }
  }
  // bf16: three roundings (x, the weights, the intermediate); int8: two quantisations of 1/255 of
  // the range on top of the intermediate's bf16 rounding.
  EXPECT_LT(worst, precision == Precision::BF16 ? 3.0 / 128 : 1.0 / 32);
  EXPECT_GT(worst, 0.0);
  Linear f32_layer(in, mid, w1, b1, Activation::Relu, Precision::F32);
  EXPECT_THROW(f32_layer.forward_bf16_output(xp.data(), rows, hidden.data()), Error);
}

INSTANTIATE_TEST_SUITE_P(Precisions, Bf16IntermediateTest, ::testing::Values(Precision::BF16, Precision::Int8));
