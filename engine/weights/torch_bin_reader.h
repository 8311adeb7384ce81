#pragma once
// pytorch_model.bin as written by torch.save (torch >= 1.6): a zip holding `<archive>/data.pkl`,
// a pickled state_dict, and `<archive>/data/<key>`, one raw storage per key. The pickle is run by
// a strict interpreter that knows only what a state_dict needs; nothing is executed.
#include <filesystem>

#include "engine/weights/checkpoint_file.h"

namespace nspbert::weights {

CheckpointFile read_torch_bin(const std::filesystem::path& path);

}  // namespace nspbert::weights
