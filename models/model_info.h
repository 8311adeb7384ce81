#pragma once
// What `nspbert inspect` reports about a loaded model, as one JSON object (also Model.info in Python).
#include <nlohmann/json.hpp>

#include "models/model.h"

namespace nspbert {

// Family, sizes, norm placement and kind, positions, heads, stored dtype, parameters, CPU ISA, threads.
nlohmann::json model_info(const Model& model);

}  // namespace nspbert
