// The model families nspbert runs: one line each, their definitions in models/NAME.cc.
#include <set>
#include <string>

#include "models/family.h"

namespace nspbert {

extern const FamilyDefinition kBertFamily, kMegatronBertFamily, kRoFormerFamily, kRoFormerV2Family, kAlbertFamily;

const std::vector<const FamilyDefinition*>& registered_families() {
  // One line per family, so that adding one is a one-line diff.
  // clang-format off
  static const std::vector<const FamilyDefinition*> families{
      &kBertFamily,
      &kMegatronBertFamily,
      &kRoFormerFamily,
      &kRoFormerV2Family,
      &kAlbertFamily,
  };
  // clang-format on
  return families;
}

const FamilyDefinition& family_for_config(const ConfigReader& config) {
  const std::string type = config.string("model_type");
  std::string supported;
  std::set<std::string> listed;
  for (const FamilyDefinition* family : registered_families()) {
    if (type == family->model_type && (!family->matches || family->matches(config))) return *family;
    if (listed.insert(family->model_type).second)
      supported += (supported.empty() ? "" : ", ") + std::string(family->model_type);
  }
  config.reject("model_type", "is '" + type + "'; supported: " + supported);
}

std::string layer_scope(const FamilyDefinition& family, const ConfigReader& config, const EncoderSpec& spec,
                        int64_t layer) {
  const int64_t stored = family.config.stored_layer ? family.config.stored_layer(config, spec, layer) : layer;
  std::string scope = family.tensors.layer_scope;
  const size_t slot = scope.find("{}");
  if (slot != std::string::npos) scope.replace(slot, 2, std::to_string(stored));
  return scope;
}

}  // namespace nspbert
