#pragma once
// A strict interpreter for the pickle subset torch.save emits for a state_dict. It builds no Python
// objects: only dicts, tuples, lists, strings, ints, the whitelisted globals, storages and tensor
// views. Any other opcode or global is an error, so a hostile pickle cannot run anything.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/weights/checkpoint_file.h"

namespace nspbert::weights {

struct PickledStorage {
  std::string key;  // the archive entry is data/<key>
  ElementType type = ElementType::F32;
  uint64_t numel = 0;
};

struct PickledTensor {
  std::string name;
  size_t storage = 0;   // index into PickledStateDict::storages
  uint64_t offset = 0;  // in elements
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;
  std::vector<PickledTensor> tensors;  // in pickle order
};

// `where` prefixes every error message (e.g. "pytorch_model.bin: data.pkl").
PickledStateDict unpickle_state_dict(std::span<const std::byte> pickle, const std::string& where);

}  // namespace nspbert::weights
