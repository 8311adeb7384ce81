#pragma once
// Each command lives in its own file and registers itself here; main.cc only dispatches.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace nspbert::cli {

// A command's setup adds its options to `sub` and returns what runs once parsing succeeded.
// The runner returns the process exit code.
using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App& sub)>;

struct Command {
  std::string name;
  std::string description;
  Setup setup;
};

// Called from a static initialiser in each command file.
bool register_command(Command command);
const std::vector<Command>& registered_commands();

}  // namespace nspbert::cli
