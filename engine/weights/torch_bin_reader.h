#pragma once
// pytorch_model.bin as written by torch.save (torch >= 1.6): a zip holding `<archive>/data.pkl`,
// a pickled state_dict, and `<archive>/data/<key>`, one raw storage per key. The pickle is run by
// a strict interpreter that knows only what a state_dict needs; nothing is executed.
#include <filesystem>
#include <span>
#include <string>

#include "engine/weights/checkpoint_file.h"

namespace nspbert::weights {

CheckpointFile read_torch_bin(const std::filesystem::path& path);
// The same over bytes already in memory (the fuzz target uses it): tensors point into `bytes`
// (or into copies the result owns), which the caller keeps alive; `file` names them in messages.
CheckpointFile parse_torch_bin(std::span<const std::byte> bytes, const std::string& file);

}  // namespace nspbert::weights
