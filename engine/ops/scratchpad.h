#pragma once
// oneDNN primitives here are created with scratchpad_mode::user and executed with the calling
// thread's own scratchpad: a library-managed one may be shared by concurrent executions of one
// primitive, and two threads running one model (the Python package allows it) then corrupt each
// other's results (tests/model_loading_test.cc, Encoder.TwoThreadsOnOneModelGetSingleThreadResults).
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace nspbert {

inline dnnl::primitive_attr user_scratchpad_attr(dnnl::primitive_attr attr = {}) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// This thread's scratchpad for `primitive`, grown as needed and kept for the thread's life.
inline dnnl::memory thread_scratchpad(const dnnl::primitive& primitive, const dnnl::engine& engine) {
  const dnnl::memory::desc desc =
      dnnl::primitive_desc_base(const_cast<dnnl_primitive_desc_t>(primitive.get_primitive_desc()), /*weak=*/true)
          .scratchpad_desc();
  thread_local std::vector<uint8_t> bytes;
  if (bytes.size() < desc.get_size()) bytes.resize(desc.get_size());
  return dnnl::memory(desc, engine, bytes.data());
}

}  // namespace nspbert
