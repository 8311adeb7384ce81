#include "models/config_reader.h"

#include <fstream>

#include "engine/error.h"

namespace nspbert {

ConfigReader ConfigReader::from_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) fail_model(path.string() + ": cannot read the model config");
  nlohmann::json config = nlohmann::json::parse(file, nullptr, false);
  if (config.is_discarded()) fail_model(path.string() + ": not valid JSON");
  if (!config.is_object()) fail_model(path.string() + ": expected a JSON object");
  return ConfigReader(std::move(config), path.string());
}

void ConfigReader::reject(const char* field, const std::string& why) const {
  fail_model(source_ + ": field '" + field + "' " + why);
}

int64_t ConfigReader::positive_int(const char* field) const {
  if (!has(field)) reject(field, "is missing");
  const auto& v = config_[field];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t{1} << 31))
    reject(field, "must be a positive integer, got " + v.dump());
  return v.get<int64_t>();
}

int64_t ConfigReader::positive_int(const char* field, int64_t fallback) const {
  return has(field) ? positive_int(field) : fallback;
}

double ConfigReader::number(const char* field, double fallback) const {
  if (!has(field)) return fallback;
  const auto& v = config_[field];
  if (!v.is_number()) reject(field, "must be a number, got " + v.dump());
  return v.get<double>();
}

bool ConfigReader::boolean(const char* field, bool fallback) const {
  if (!has(field)) return fallback;
  const auto& v = config_[field];
  if (!v.is_boolean()) reject(field, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string ConfigReader::string(const char* field) const {
  if (!has(field)) reject(field, "is missing");
  const auto& v = config_[field];
  if (!v.is_string()) reject(field, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

std::string ConfigReader::string(const char* field, const std::string& fallback) const {
  return has(field) ? string(field) : fallback;
}

}  // namespace nspbert
