// config.json -> EncoderSpec through the family resolution load_model uses. An accepted config
// must give a spec the encoder can be built from; a rejected one a one-line error naming the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "models/config_reader.h"
#include "models/family.h"
#include "models/model.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace nspbert;

void check_spec(const ConfigReader& config, const EncoderSpec& spec) {
  for (int64_t size : {spec.vocab_size, spec.hidden, spec.layers, spec.heads, spec.intermediate, spec.embedding_size,
                       spec.type_vocab_size, spec.max_positions})
    fuzz::require(size > 0 && size <= (int64_t{1} << 31), "accepted a size outside 1..2^31");
  fuzz::require(spec.hidden % spec.heads == 0, "heads do not divide hidden_size");
  fuzz::require(spec.norm_eps >= 0, "accepted a negative or NaN layer_norm_eps");
  if (spec.position_kind == PositionKind::Rotary)
    fuzz::require(spec.head_dim() % 2 == 0, "rotary with an odd head size");
  fuzz::require(family_for_config(config).family == spec.family, "the loader's family differs from the spec's");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kFile = "fuzz/config.json";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::run_expecting_nspbert_errors(
      [&] {
        const ConfigReader config = ConfigReader::from_text(text, kFile);
        check_spec(config, read_encoder_spec(config));
      },
      [](std::string_view message) {
        fuzz::check_one_line(message);
        fuzz::require(message.starts_with(kFile + ": "), "error does not name the file", message);
      });
  return 0;
}
