// The safetensors reader over arbitrary bytes: header length, JSON header, entries, offsets,
// overlap checks. Seeds: tests/fuzz/corpus/safetensors_fuzz; dictionary: safetensors.dict.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "engine/weights/safetensors_reader.h"
#include "tests/fuzz/checkpoint_checks.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nspbert;
  static const std::string kFile = "fuzz.safetensors";
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  fuzz::run_expecting_nspbert_errors(
      [&] { fuzz::check_accepted_checkpoint(weights::parse_safetensors(bytes, kFile), bytes); },
      // Messages may quote names with control characters: WeightStore makes them one line.
      [](std::string_view message) {
        fuzz::require(message.starts_with(kFile + ": "), "error does not name the file", message);
      });
  return 0;
}
