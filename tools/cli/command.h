#pragma once
// Each command lives in its own file and registers itself here; main.cc only dispatches.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
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

// The usual command: a fresh `Args` per process, `declare` adds its flags to it, and `run` gets it
// once parsing succeeded.
template <typename Args>
bool register_command(std::string name, std::string description, void (*declare)(CLI::App&, Args&),
                      int (*run)(const Args&)) {
  return register_command(Command{std::move(name), std::move(description), [declare, run](CLI::App& app) -> Runner {
                                    auto args = std::make_shared<Args>();
                                    declare(app, *args);
                                    return [args, run] { return run(*args); };
                                  }});
}

const std::vector<Command>& registered_commands();

}  // namespace nspbert::cli
