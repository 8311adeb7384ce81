#pragma once
// Where a forward pass spends its time, per kind of op (`nspbert bench --verbose-kernels`).
// Off by default: a disabled OpTimer costs one relaxed load. Times are exclusive: a timer that
// runs inside another (the int8 quantisation inside a GEMM) is subtracted from its parent, so the
// kinds add up to the whole.
#include <array>
#include <cstdint>
#include <string_view>

namespace nspbert {

enum class OpKind {
  Embedding,
  Norm,
  QkvGemm,
  Rotary,
  Attention,
  AttentionOutGemm,
  FfnInGemm,
  FfnOutGemm,
  Quantize,
  Heads,
  Other,
  Count,
};
constexpr int kOpKinds = static_cast<int>(OpKind::Count);

std::string_view op_name(OpKind kind);

struct OpProfileSnapshot {
  std::array<double, kOpKinds> ms{};  // exclusive milliseconds per kind
  std::array<int64_t, kOpKinds> calls{};
};

void enable_op_profile(bool on);
bool op_profile_enabled();
void reset_op_profile();
OpProfileSnapshot op_profile();

// Times its scope as `kind` when profiling is on (RAII; nests per thread).
class OpTimer {
 public:
  explicit OpTimer(OpKind kind);
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpKind kind_;
  bool active_;
  int64_t start_ns_ = 0;
  int64_t children_ns_ = 0;
  OpTimer* parent_ = nullptr;
};

}  // namespace nspbert
