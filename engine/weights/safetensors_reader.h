#pragma once
// safetensors: an 8-byte little-endian header length, a JSON header, then the data section.
// The header is validated completely before any tensor is handed out.
#include <filesystem>
#include <span>
#include <string>

#include "engine/weights/checkpoint_file.h"

namespace nspbert::weights {

// Headers larger than this are refused before parsing (real ones are well under 1 MB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1000 * 1000;

CheckpointFile read_safetensors(const std::filesystem::path& path);
// The same over bytes already in memory (the fuzz target uses it): the tensors point into `bytes`,
// which the caller keeps alive; `file` names them in messages. The result owns no mapping.
CheckpointFile parse_safetensors(std::span<const std::byte> bytes, const std::string& file);

}  // namespace nspbert::weights
