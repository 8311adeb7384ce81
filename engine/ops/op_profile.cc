#include "engine/ops/op_profile.h"

#include <atomic>
#include <chrono>

namespace nspbert {
namespace {

std::atomic<bool> enabled{false};
std::array<std::atomic<int64_t>, kOpKinds> exclusive_ns{};
std::array<std::atomic<int64_t>, kOpKinds> call_count{};
thread_local OpTimer* innermost = nullptr;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view op_name(OpKind kind) {
  switch (kind) {
    case OpKind::Embedding: return "embedding";
    case OpKind::Norm: return "layer norm";
    case OpKind::QkvGemm: return "QKV GEMM";
    case OpKind::Rotary: return "rotary";
    case OpKind::Attention: return "attention (QK^T, softmax, PV)";
    case OpKind::AttentionOutGemm: return "attention output GEMM";
    case OpKind::FfnInGemm: return "FFN in GEMM + activation";
    case OpKind::FfnOutGemm: return "FFN out GEMM";
    case OpKind::Quantize: return "int8/bf16 conversion of GEMM inputs";
    case OpKind::Heads: return "pooler and heads";
    case OpKind::Other: return "other (packing, copies)";
    case OpKind::Count: break;
  }
  return "?";
}

void enable_op_profile(bool on) { enabled.store(on, std::memory_order_relaxed); }
bool op_profile_enabled() { return enabled.load(std::memory_order_relaxed); }

void reset_op_profile() {
  for (int k = 0; k < kOpKinds; ++k) {
    exclusive_ns[k].store(0);
    call_count[k].store(0);
  }
}

OpProfileSnapshot op_profile() {
  OpProfileSnapshot s;
  for (int k = 0; k < kOpKinds; ++k) {
    s.ms[k] = static_cast<double>(exclusive_ns[k].load()) / 1e6;
    s.calls[k] = call_count[k].load();
  }
  return s;
}

OpTimer::OpTimer(OpKind kind) : kind_(kind), active_(op_profile_enabled()) {
  if (!active_) return;
  parent_ = innermost;
  innermost = this;
  start_ns_ = now_ns();
}

OpTimer::~OpTimer() {
  if (!active_) return;
  const int64_t elapsed = now_ns() - start_ns_;
  innermost = parent_;
  if (parent_) parent_->children_ns_ += elapsed;
  const int k = static_cast<int>(kind_);
  exclusive_ns[k].fetch_add(elapsed - children_ns_, std::memory_order_relaxed);
  call_count[k].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace nspbert
