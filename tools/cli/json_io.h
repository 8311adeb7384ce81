#pragma once
// Small JSON helpers shared by the commands: reading a whole file, typed field access with
// messages that name the field, and output that never throws on odd UTF-8.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nspbert::cli {

nlohmann::json read_json_file(const std::string& path);  // "-" = standard input
// [B][T] integer matrix; rejects ragged rows, non-integers and values outside [lo, hi].
std::vector<std::vector<int64_t>> int_matrix(const nlohmann::json& value, const std::string& field, int64_t lo,
                                             int64_t hi);
std::string dump(const nlohmann::json& value);  // invalid UTF-8 replaced, never throws

}  // namespace nspbert::cli
