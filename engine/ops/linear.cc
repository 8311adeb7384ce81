#include "engine/ops/linear.h"

#include <cstring>

#include "engine/error.h"

namespace nspbert {

using dnnl::memory;

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

Linear::Linear(int64_t in, int64_t out, const std::vector<float>& weight, const std::vector<float>& bias,
               Activation activation)
    : in_(in), out_(out), activation_(activation) {
  if (static_cast<int64_t>(weight.size()) != in * out) throw Error(ErrorKind::Internal, "linear weight size");
  // Let oneDNN choose the packed layout for a representative row count, then keep that layout
  // for every bucket so the weight is reordered exactly once.
  memory::desc src_md({128, in}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc any_weight_md({in, out}, memory::data_type::f32, memory::format_tag::any);
  memory::desc dst_md({128, out}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::matmul::primitive_desc probe(dnnl::matmul::desc(src_md, any_weight_md, dst_md), cpu_engine());
  packed_weight_desc_ = probe.weights_desc();

  // HF's [out][in] row-major tensor is {in, out} with tag ba.
  memory user_weight({{in, out}, memory::data_type::f32, memory::format_tag::ba}, cpu_engine(),
                     const_cast<float*>(weight.data()));
  packed_weight_ = std::make_shared<memory>(packed_weight_desc_, cpu_engine());
  dnnl::reorder(user_weight, *packed_weight_).execute(cpu_stream(), user_weight, *packed_weight_);
  if (!bias.empty()) {
    if (static_cast<int64_t>(bias.size()) != out) throw Error(ErrorKind::Internal, "linear bias size");
    bias_ = std::make_shared<memory>(memory::desc({1, out}, memory::data_type::f32, memory::format_tag::ab),
                                     cpu_engine());
    std::memcpy(bias_->get_data_handle(), bias.data(), bias.size() * sizeof(float));
  }
  cpu_stream().wait();
}

const Linear::Cached& Linear::primitive_for(int64_t rows, Epilogue epilogue) const {
  const int64_t bucket = padded_rows(rows);
  std::lock_guard<std::mutex> lock(*cache_mutex_);
  auto key = std::make_pair(bucket, static_cast<int>(epilogue));
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;

  memory::desc src_md({bucket, in_}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc dst_md({bucket, out_}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::post_ops ops;
  if (epilogue == Epilogue::Activation) // swish's alpha is the sigmoid's slope (1 for SiLU); relu's is the negative slope (0).
    ops.append_eltwise(1.f, eltwise_for(activation_), activation_ == Activation::Silu ? 1.f : 0.f, 0.f);
  if (epilogue == Epilogue::AddToOutput) ops.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  auto desc = bias_ ? dnnl::matmul::desc(src_md, packed_weight_desc_, bias_->get_desc(), dst_md)
                    : dnnl::matmul::desc(src_md, packed_weight_desc_, dst_md);
  dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
  Cached cached{dnnl::matmul(pd), src_md, dst_md};
  return cache_.emplace(key, std::move(cached)).first->second;
}

void Linear::forward(const float* x, int64_t rows, float* y, Epilogue epilogue) const {
  if (rows == 0) return;
  const Cached& c = primitive_for(rows, epilogue);
  memory src(c.src, cpu_engine(), const_cast<float*>(x));
  memory dst(c.dst, cpu_engine(), y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, *packed_weight_}, {DNNL_ARG_DST, dst}};
  if (bias_) args.emplace(DNNL_ARG_BIAS, *bias_);
  c.primitive.execute(cpu_stream(), args);
  cpu_stream().wait();
}

}  // namespace nspbert
