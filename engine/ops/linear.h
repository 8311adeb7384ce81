#pragma once
// y = x W^T + b with an optional fused epilogue, through oneDNN matmul. The weight is converted
// and reordered once, at construction, into the layout oneDNN picks; primitives are cached per
// row bucket because a runtime M dimension drops oneDNN onto a slower kernel (docs/design.md,
// "oneDNN facts").
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "engine/encoder_spec.h"
#include "engine/ops/cpu_isa.h"

namespace nspbert {

enum class Epilogue {
  None,
  Activation,   // the layer's activation (GELU, ReLU, SiLU)
  AddToOutput,  // y += x W^T + b (the residual add)
};

class Linear {
 public:
  Linear() = default;
  // weight: [out][in] row-major as Hugging Face stores it; bias: [out] or empty.
  Linear(int64_t in, int64_t out, const std::vector<float>& weight, const std::vector<float>& bias,
         Activation activation = Activation::GeluErf, Precision precision = Precision::F32);

  int64_t in() const { return in_; }
  int64_t out() const { return out_; }
  Precision precision() const { return precision_; }

  // x: [rows][in], y: [rows][out], both row-major and contiguous. Buffers must hold
  // `padded_rows(rows)` rows: the tail rows are computed but not meaningful.
  void forward(const float* x, int64_t rows, float* y, Epilogue epilogue = Epilogue::None) const;

  // bf16 and int8 precisions: the GEMM writing bf16, and reading what it wrote, so the FFN's
  // intermediate is never widened to f32 and narrowed again (int8 quantises it from bf16).
  void forward_bf16_output(const float* x, int64_t rows, uint16_t* y, Epilogue epilogue = Epilogue::None) const;
  void forward_bf16_input(const uint16_t* x, int64_t rows, float* y, Epilogue epilogue = Epilogue::None) const;

  static int64_t padded_rows(int64_t rows);
  // Bytes held by the packed weight (for memory reports).
  size_t weight_bytes() const;

 private:
  struct Cached {
    dnnl::matmul primitive;
    dnnl::memory::desc src, dst;
  };
  const Cached& primitive_for(int64_t rows, Epilogue epilogue, bool bf16_output) const;
  void execute(const Cached& c, const void* x, void* y) const;
  const uint16_t* bf16_input(const float* x, int64_t rows) const;
  template <typename Input>
  void forward_int8(const Input* x, int64_t rows, void* y, const Cached& c) const;

  int64_t in_ = 0, out_ = 0;
  Activation activation_ = Activation::GeluErf;
  Precision precision_ = Precision::F32;
  dnnl::memory::desc packed_weight_desc_;
  std::shared_ptr<dnnl::memory> packed_weight_;
  std::shared_ptr<dnnl::memory> bias_;
  // int8: per-output-channel weight scales, and each scale times its quantised column's sum.
  std::vector<float> column_scale_;
  std::vector<float> column_scale_sum_;
  std::vector<float> bias_values_;
  mutable std::map<std::pair<int64_t, int>, Cached> cache_;
  mutable std::shared_ptr<std::mutex> cache_mutex_ = std::make_shared<std::mutex>();
};

// The process-wide oneDNN CPU engine and stream.
dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

}  // namespace nspbert
