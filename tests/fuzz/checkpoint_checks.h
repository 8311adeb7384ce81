#pragma once
// What a weight reader promises about a file it accepts: each tensor's byte count matches its
// shape and dtype, and its bytes lie inside the input (or in a copy the result owns).
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/weights/checkpoint_file.h"
#include "tests/fuzz/fuzz_support.h"

namespace nspbert::fuzz {

inline void check_accepted_checkpoint(const weights::CheckpointFile& file, std::span<const std::byte> input) {
  const std::byte* begin = input.data();
  const std::byte* end = input.data() + input.size();
  for (const weights::RawTensor& tensor : file.tensors) {
    uint64_t numel = 1;
    for (int64_t extent : tensor.shape) {
      require(extent >= 0, "accepted a negative dimension", tensor.name);
      require(!__builtin_mul_overflow(numel, static_cast<uint64_t>(extent), &numel), "accepted an overflowing shape",
              tensor.name);
    }
    uint64_t expected = 0;
    require(!__builtin_mul_overflow(numel, weights::element_size(tensor.type), &expected) && expected == tensor.nbytes,
            "nbytes disagrees with shape and dtype", tensor.name);
    if (tensor.nbytes == 0) continue;
    bool owned = false;
    for (const auto& copy : file.owned) owned |= copy.get() == tensor.data;
    require(owned ||
                (tensor.data >= begin && tensor.data <= end && tensor.nbytes <= static_cast<size_t>(end - tensor.data)),
            "tensor data lies outside the input", tensor.name);
    // Read every byte as the loader would, so a bad pointer or short copy also trips ASan.
    unsigned checksum = 0;
    for (size_t i = 0; i < tensor.nbytes; ++i) checksum += static_cast<unsigned>(tensor.data[i]);
    volatile unsigned keep = checksum;
    (void)keep;
  }
}

}  // namespace nspbert::fuzz
