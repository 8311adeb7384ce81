#include "engine/ops/linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "engine/ops/op_profile.h"
#include "engine/ops/quantize.h"
#include "engine/ops/scratchpad.h"

namespace nspbert {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

int64_t Linear::padded_rows(int64_t rows) {
  if (rows <= 16) return rows;  // tiny shapes (pooler, heads, one [CLS] row per sequence)
  if (rows <= 256) return (rows + 15) / 16 * 16;
  return (rows + 63) / 64 * 64;
}

static dnnl::algorithm eltwise_for(Activation a) {
  switch (a) {
    case Activation::GeluErf: return dnnl::algorithm::eltwise_gelu_erf;
    case Activation::GeluTanh: return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::Relu: return dnnl::algorithm::eltwise_relu;
    case Activation::Silu: return dnnl::algorithm::eltwise_swish;
  }
  return dnnl::algorithm::eltwise_relu;
}

// swish's alpha is the sigmoid's slope (1 for SiLU); relu's is the negative slope (0).
static float eltwise_alpha(Activation a) { return a == Activation::Silu ? 1.f : 0.f; }

static dt src_type(Precision p) { return p == Precision::BF16 ? dt::bf16 : p == Precision::Int8 ? dt::u8 : dt::f32; }
static dt weight_type(Precision p) { return p == Precision::BF16 ? dt::bf16 : p == Precision::Int8 ? dt::s8 : dt::f32; }

Linear::Linear(int64_t in, int64_t out, const std::vector<float>& weight, const std::vector<float>& bias,
               Activation activation, Precision precision)
    : in_(in), out_(out), activation_(activation), precision_(precision) {
  if (static_cast<int64_t>(weight.size()) != in * out) throw Error(ErrorKind::Internal, "linear weight size");
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != out) throw Error(ErrorKind::Internal, "linear bias size");
  // Let oneDNN choose the packed layout for a representative row count, then keep that layout
  // for every bucket so the weight is reordered exactly once.
  memory::desc src_md({128, in}, src_type(precision), tag::ab);
  memory::desc any_weight_md({in, out}, weight_type(precision), tag::any);
  memory::desc dst_md({128, out}, dt::f32, tag::ab);
  dnnl::matmul::primitive_desc probe(dnnl::matmul::desc(src_md, any_weight_md, dst_md), cpu_engine());
  packed_weight_desc_ = probe.weights_desc();
  packed_weight_ = std::make_shared<memory>(packed_weight_desc_, cpu_engine());

  // HF's [out][in] row-major tensor is {in, out} with tag ba.
  if (precision == Precision::Int8) {
    std::vector<int8_t> quantised(weight.size());
    column_scale_.resize(out);
    column_scale_sum_.resize(out);
    for (int64_t o = 0; o < out; ++o) {
      const float* row = weight.data() + o * in;
      float max_abs = 0;
      for (int64_t i = 0; i < in; ++i) max_abs = std::max(max_abs, std::fabs(row[i]));
      const float scale = max_abs > 0 && std::isfinite(max_abs) ? max_abs / 127.0f : 1.0f;
      int32_t sum = 0;
      for (int64_t i = 0; i < in; ++i) {
        const float v = std::nearbyint(row[i] / scale);  // NaN -> 0: casting NaN is undefined
        const auto q = static_cast<int8_t>(v > -127.0f ? (v < 127.0f ? v : 127.0f) : (v <= -127.0f ? -127.0f : 0.0f));
        quantised[o * in + i] = q;
        sum += q;
      }
      column_scale_[o] = scale;
      column_scale_sum_[o] = scale * static_cast<float>(sum);
    }
    memory user({{in, out}, dt::s8, tag::ba}, cpu_engine(), quantised.data());
    dnnl::reorder(user, *packed_weight_).execute(cpu_stream(), user, *packed_weight_);
    bias_values_ = bias;
  } else {
    memory user({{in, out}, dt::f32, tag::ba}, cpu_engine(), const_cast<float*>(weight.data()));
    dnnl::reorder(user, *packed_weight_).execute(cpu_stream(), user, *packed_weight_);
    if (!bias.empty()) {
      bias_ = std::make_shared<memory>(memory::desc({1, out}, dt::f32, tag::ab), cpu_engine());
      std::memcpy(bias_->get_data_handle(), bias.data(), bias.size() * sizeof(float));
    }
  }
  cpu_stream().wait();
}

size_t Linear::weight_bytes() const { return packed_weight_ ? packed_weight_desc_.get_size() : 0; }

const Linear::Cached& Linear::primitive_for(int64_t rows, Epilogue epilogue, bool bf16_output) const {
  const int64_t bucket = padded_rows(rows);
  std::lock_guard<std::mutex> lock(*cache_mutex_);
  auto key = std::make_pair(bucket, static_cast<int>(epilogue) + (bf16_output ? 16 : 0));
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;

  memory::desc src_md({bucket, in_}, src_type(precision_), tag::ab);
  memory::desc dst_md({bucket, out_}, bf16_output ? dt::bf16 : dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  Cached cached;
  dnnl::post_ops ops;
  if (precision_ == Precision::Int8) {
    // y = column_scale * acc (static output scales) * tensor_scale + shift, where shift folds the
    // bias and the zero-point correction: both tensor-wide runtime values are binary post-ops.
    attr.set_output_scales(1 << 1, column_scale_);
    ops.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, 1}, dt::f32, tag::ab));
    ops.append_binary(dnnl::algorithm::binary_add, memory::desc({1, out_}, dt::f32, tag::ab));
  }
  if (epilogue == Epilogue::Activation)
    ops.append_eltwise(1.f, eltwise_for(activation_), eltwise_alpha(activation_), 0.f);
  if (epilogue == Epilogue::AddToOutput) ops.append_sum(1.f);
  attr.set_post_ops(ops);
  attr = user_scratchpad_attr(attr);  // engine/ops/scratchpad.h: each thread brings its own
  dnnl::matmul::primitive_desc pd;
  if (precision_ == Precision::Int8) {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, packed_weight_desc_, dst_md), attr, cpu_engine());
  } else {
    auto desc = bias_ ? dnnl::matmul::desc(src_md, packed_weight_desc_, bias_->get_desc(), dst_md)
                      : dnnl::matmul::desc(src_md, packed_weight_desc_, dst_md);
    pd = dnnl::matmul::primitive_desc(desc, attr, cpu_engine());
  }
  cached.primitive = dnnl::matmul(pd);
  cached.src = src_md;
  cached.dst = dst_md;
  return cache_.emplace(key, std::move(cached)).first->second;
}

void Linear::forward(const float* x, int64_t rows, float* y, Epilogue epilogue) const {
  if (rows == 0) return;
  const Cached& c = primitive_for(rows, epilogue, false);
  if (precision_ == Precision::Int8) return forward_int8(x, rows, y, c);
  if (precision_ == Precision::F32) return execute(c, x, y);
  execute(c, bf16_input(x, rows), y);
}

// x rounded to bf16 in this thread's buffer, the padded tail included (what a bf16 GEMM reads).
const uint16_t* Linear::bf16_input(const float* x, int64_t rows) const {
  thread_local std::vector<uint16_t> bf16_src;
  bf16_src.resize(padded_rows(rows) * in_);
  OpTimer timer(OpKind::Quantize);
  to_bf16(x, bf16_src.data(), padded_rows(rows) * in_);
  return bf16_src.data();
}

void Linear::forward_bf16_output(const float* x, int64_t rows, uint16_t* y, Epilogue epilogue) const {
  if (precision_ == Precision::F32) throw Error(ErrorKind::Internal, "bf16 output from an f32 linear");
  if (rows == 0) return;
  if (precision_ == Precision::Int8) return forward_int8(x, rows, y, primitive_for(rows, epilogue, true));
  execute(primitive_for(rows, epilogue, true), bf16_input(x, rows), y);
}

void Linear::forward_bf16_input(const uint16_t* x, int64_t rows, float* y, Epilogue epilogue) const {
  if (precision_ == Precision::F32) throw Error(ErrorKind::Internal, "bf16 input to an f32 linear");
  if (rows == 0) return;
  if (precision_ == Precision::Int8) return forward_int8(x, rows, y, primitive_for(rows, epilogue, false));
  execute(primitive_for(rows, epilogue, false), x, y);
}

void Linear::execute(const Cached& c, const void* x, void* y) const {
  memory src(c.src, cpu_engine(), const_cast<void*>(x));
  memory dst(c.dst, cpu_engine(), y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_WEIGHTS, *packed_weight_},
                                       {DNNL_ARG_DST, dst},
                                       {DNNL_ARG_SCRATCHPAD, thread_scratchpad(c.primitive, cpu_engine())}};
  if (bias_) args.emplace(DNNL_ARG_BIAS, *bias_);
  c.primitive.execute(cpu_stream(), args);
  cpu_stream().wait();
}

template <typename Input>
void Linear::forward_int8(const Input* x, int64_t rows, void* y, const Cached& c) const {
  const int64_t bucket = padded_rows(rows);
  thread_local std::vector<uint8_t> quantised;
  thread_local std::vector<float> shift;
  quantised.resize(bucket * in_);
  TensorQuantization q;
  {
    OpTimer timer(OpKind::Quantize);
    q = quantize_tensor_u8(x, rows * in_, quantised.data());
    std::fill(quantised.begin() + rows * in_, quantised.end(), static_cast<uint8_t>(q.zero_point));  // tail rows: 0
    // x ~ scale * (q - z), so x.w = scale * column_scale * (acc - z * column_sum).
    shift.resize(out_);
    const float zero_times_scale = q.scale * static_cast<float>(q.zero_point);
    for (int64_t o = 0; o < out_; ++o)
      shift[o] = (bias_values_.empty() ? 0.0f : bias_values_[o]) - zero_times_scale * column_scale_sum_[o];
  }
  memory src(c.src, cpu_engine(), quantised.data());
  memory dst(c.dst, cpu_engine(), y);
  memory scale({{1, 1}, dt::f32, tag::ab}, cpu_engine(), &q.scale);
  memory shift_mem({{1, out_}, dt::f32, tag::ab}, cpu_engine(), shift.data());
  c.primitive.execute(cpu_stream(), {{DNNL_ARG_SRC, src},
                                     {DNNL_ARG_WEIGHTS, *packed_weight_},
                                     {DNNL_ARG_DST, dst},
                                     {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, scale},
                                     {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, shift_mem},
                                     {DNNL_ARG_SCRATCHPAD, thread_scratchpad(c.primitive, cpu_engine())}});
  cpu_stream().wait();
}

}  // namespace nspbert
