#include "models/config_reader.h"

#include <fstream>
#include <iterator>

#include "engine/error.h"
#include "engine/json_depth.h"
#include "engine/weights/checkpoint_file.h"

namespace nspbert {

ConfigReader ConfigReader::from_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail_model(path.string() + ": is a directory, not the model config");
  std::ifstream file(path, std::ios::binary);
  if (!file) fail_model(path.string() + ": cannot read the model config");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) fail_model(path.string() + ": cannot read the model config");
  return from_text(text, path.string());
}

ConfigReader ConfigReader::from_text(std::string_view text, std::string source) {
  if (json_nests_deeper_than(text))
    fail_model(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded()) fail_model(source + ": not valid JSON");
  if (!config.is_object()) fail_model(source + ": expected a JSON object");
  return ConfigReader(std::move(config), std::move(source));
}

void ConfigReader::reject(const char* field, const std::string& why) const {
  // Values quoted from the file may hold newlines; the message stays one line.
  fail_model(weights::one_line(source_ + ": field '" + field + "' " + why));
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
