#include "tools/cli/flag_check.h"

#include <algorithm>
#include <cctype>

namespace nspbert::cli {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "--name=value" -> "--name"; "-n5" -> "-n".
std::string flag_name(const std::string& arg) {
  if (arg.starts_with("--")) return arg.substr(0, arg.find('='));
  return arg.substr(0, 2);
}

bool is_flag(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  if (arg[1] == '-') return arg.size() > 2;
  return std::isalpha(static_cast<unsigned char>(arg[1])) != 0;  // "-1" is a value
}

}  // namespace

std::optional<std::string> closest_flag(const CLI::App& command, const std::string& flag) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, flag.size() / 3) + 1;
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_group().empty()) continue;  // hidden aliases are not suggested
    for (const std::string& name : option->get_lnames()) {
      const size_t d = edit_distance(flag, "--" + name);
      if (d < best_distance) best_distance = d, best = "--" + name;
    }
  }
  return best;
}

std::optional<std::string> unknown_flag_message(const CLI::App& command, const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--") break;  // what follows is positional
    if (!is_flag(arg)) continue;
    const std::string name = flag_name(arg);
    if (command.get_option_no_throw(name) != nullptr) continue;
    std::string message = "unknown flag " + name + " for '" + command.get_name() + "'";
    if (const auto close = closest_flag(command, name)) message += " (did you mean " + *close + "?)";
    return message;
  }
  return std::nullopt;
}

}  // namespace nspbert::cli
