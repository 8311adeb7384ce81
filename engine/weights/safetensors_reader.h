#pragma once
// safetensors: an 8-byte little-endian header length, a JSON header, then the data section.
// The header is validated completely before any tensor is handed out.
#include <filesystem>

#include "engine/weights/checkpoint_file.h"

namespace nspbert::weights {

// Headers larger than this are refused before parsing (real ones are well under 1 MB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1000 * 1000;

CheckpointFile read_safetensors(const std::filesystem::path& path);

}  // namespace nspbert::weights
