#pragma once
// Typed access to config.json: every failure names the field and the file.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nspbert {

class ConfigReader {
 public:
  ConfigReader(nlohmann::json config, std::string source) : config_(std::move(config)), source_(std::move(source)) {}
  static ConfigReader from_file(const std::filesystem::path& path);
  // config.json text already in memory (the fuzz target uses it); `source` names it in messages.
  static ConfigReader from_text(std::string_view text, std::string source);

  bool has(const char* field) const { return config_.contains(field) && !config_[field].is_null(); }
  int64_t positive_int(const char* field) const;
  int64_t positive_int(const char* field, int64_t fallback) const;
  double number(const char* field, double fallback) const;
  bool boolean(const char* field, bool fallback) const;
  std::string string(const char* field) const;
  std::string string(const char* field, const std::string& fallback) const;
  [[noreturn]] void reject(const char* field, const std::string& why) const;
  const nlohmann::json& json() const { return config_; }

 private:
  nlohmann::json config_;
  std::string source_;
};

}  // namespace nspbert
