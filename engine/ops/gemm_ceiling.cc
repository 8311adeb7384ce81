#include "engine/ops/gemm_ceiling.h"

#include <algorithm>
#include <chrono>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/linear.h"

namespace nspbert {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct GemmTypes {
  dt a, b, c;
};

GemmTypes types_for(Precision precision) {
  switch (precision) {
    case Precision::BF16: return {dt::bf16, dt::bf16, dt::f32};
    case Precision::Int8: return {dt::u8, dt::s8, dt::s32};
    case Precision::F32: break;
  }
  return {dt::f32, dt::f32, dt::f32};
}

}  // namespace

double measured_gemm_gflops(Precision precision, int64_t m, int64_t k, int64_t n) {
  const GemmTypes t = types_for(precision);
  dnnl::engine& engine = cpu_engine();
  dnnl::stream& stream = cpu_stream();
  const dnnl::memory::desc a_desc({m, k}, t.a, tag::ab);
  const dnnl::memory::desc b_any({k, n}, t.b, tag::any);  // weights packed the way the kernel wants, as Linear does
  const dnnl::memory::desc c_desc({m, n}, t.c, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_desc, b_any, c_desc), engine);
  dnnl::memory a(a_desc, engine), b(pd.weights_desc(), engine), c(c_desc, engine);
  // Zero operands: the time of a GEMM does not depend on the values.
  std::fill_n(static_cast<char*>(a.get_data_handle()), a_desc.get_size(), 0);
  std::fill_n(static_cast<char*>(b.get_data_handle()), pd.weights_desc().get_size(), 0);
  const dnnl::matmul gemm(pd);
  const auto run = [&] {
    gemm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  };
  run();
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) / best / 1e9;
}

}  // namespace nspbert
