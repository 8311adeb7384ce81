#pragma once
// Checks a command line against a command's flags before CLI11 parses it, so a mistyped flag is
// reported as itself ("unknown flag --templat ... did you mean --template?") instead of as the
// required flag it failed to set.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nspbert::cli {

// The closest visible long flag of `command` to `flag` ("--templat" -> "--template"), if any is close.
std::optional<std::string> closest_flag(const CLI::App& command, const std::string& flag);

// The first argument of args (the command's own, after its name) that names no flag of `command`,
// as a usage message; nullopt when every flag is known.
std::optional<std::string> unknown_flag_message(const CLI::App& command, const std::vector<std::string>& args);

}  // namespace nspbert::cli
