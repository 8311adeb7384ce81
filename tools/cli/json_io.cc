#include "tools/cli/json_io.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "engine/error.h"

namespace nspbert::cli {

nlohmann::json read_json_file(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail_input(path + ": is a directory, not a JSON file");
    std::ifstream file(path, std::ios::binary);
    if (!file) fail_input(path + ": cannot open");
    text.assign(std::istreambuf_iterator<char>(file), {});
  }
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded()) fail_input((path == "-" ? std::string("standard input") : path) + ": not valid JSON");
  return value;
}

std::vector<std::vector<int64_t>> int_matrix(const nlohmann::json& value, const std::string& field, int64_t lo,
                                             int64_t hi) {
  if (!value.is_array() || value.empty()) fail_input("'" + field + "' must be a non-empty array of rows");
  std::vector<std::vector<int64_t>> rows;
  size_t width = 0;
  for (size_t b = 0; b < value.size(); ++b) {
    const auto& row = value[b];
    if (!row.is_array()) fail_input("'" + field + "' row " + std::to_string(b) + " is not an array");
    if (b == 0) width = row.size();
    if (width == 0) fail_input("'" + field + "' row 0 is empty");
    if (row.size() != width)
      fail_input("'" + field + "' rows have different lengths (row " + std::to_string(b) + " has " +
                 std::to_string(row.size()) + ", row 0 has " + std::to_string(width) + ")");
    std::vector<int64_t> out;
    out.reserve(width);
    for (size_t t = 0; t < row.size(); ++t) {
      const auto& v = row[t];
      if (!v.is_number_integer())
        fail_input("'" + field + "' [" + std::to_string(b) + "][" + std::to_string(t) + "] is not an integer");
      const int64_t x =
          v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
      if (x < lo || x > hi)
        fail_input("'" + field + "' [" + std::to_string(b) + "][" + std::to_string(t) + "] = " + std::to_string(x) +
                   " is out of range");
      out.push_back(x);
    }
    rows.push_back(std::move(out));
  }
  return rows;
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nspbert::cli
