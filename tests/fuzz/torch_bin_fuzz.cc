// pytorch_model.bin: the zip reader, the strict state_dict pickle interpreter and the view checks.
// An input that starts like a zip goes through the whole reader; anything else is fed to the
// pickle interpreter alone, so mutations of the data.pkl seeds reach it without a valid zip around.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "engine/weights/state_dict_pickle.h"
#include "engine/weights/torch_bin_reader.h"
#include "engine/weights/zip_archive.h"
#include "tests/fuzz/checkpoint_checks.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace nspbert;

void check_state_dict(const weights::PickledStateDict& state) {
  for (const weights::PickledTensor& tensor : state.tensors) {
    fuzz::require(tensor.storage < state.storages.size(), "tensor refers to a storage that does not exist",
                  tensor.name);
    fuzz::require(tensor.size.size() == tensor.stride.size(), "size and stride differ in length", tensor.name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kFile = "fuzz.bin";
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  if (weights::ZipArchive::looks_like_zip(bytes)) {
    fuzz::run_expecting_nspbert_errors(
        [&] { fuzz::check_accepted_checkpoint(weights::parse_torch_bin(bytes, kFile), bytes); },
        [](std::string_view message) {
          fuzz::require(message.starts_with(kFile + ": "), "error does not name the file", message);
        });
  } else {
    static const std::string kWhere = "fuzz.bin: data.pkl";
    fuzz::run_expecting_nspbert_errors([&] { check_state_dict(weights::unpickle_state_dict(bytes, kWhere)); },
                                       [](std::string_view message) {
                                         fuzz::require(message.starts_with(kWhere + " byte "),
                                                       "pickle error does not name the byte offset", message);
                                       });
  }
  return 0;
}
