#pragma once
// Writes every tensor of a WeightStore as one safetensors file.
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "engine/weights/weight_store.h"

namespace nspbert::weights {

struct WriteSummary {
  size_t tensors = 0;
  uint64_t bytes = 0;  // whole file
};

// `dtype` converts every tensor (round to nearest even when narrowing); nullopt keeps each
// tensor's stored type. Names are sorted in the header, which is space-padded to 8 bytes; data is
// laid out widest element type first so every tensor stays aligned to its element size. The file
// is written beside `output` and renamed into place, so `output` may be one of the store's inputs.
WriteSummary write_safetensors(const WeightStore& store, const std::filesystem::path& output,
                               std::optional<DType> dtype = std::nullopt,
                               const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace nspbert::weights
