#include <cstdio>
#include <iostream>
#include <map>
#include <new>
#include <string>

#include "engine/error.h"
#include "tools/cli/command.h"

namespace nspbert::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

bool register_command(Command command) {
  registry().push_back(std::move(command));
  return true;
}

const std::vector<Command>& registered_commands() { return registry(); }

// Every error is one stderr line, even when the message quotes a path or a value holding line breaks.
static std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}

}  // namespace nspbert::cli

int main(int argc, char** argv) {
  using namespace nspbert;
  CLI::App app{"nspbert: BERT-family encoders on the CPU, NSP-BERT zero-shot classification"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nspbert 0.1");
  std::map<CLI::App*, cli::Runner> runners;
  try {
    for (const auto& command : cli::registered_commands()) {
      CLI::App* sub = app.add_subcommand(command.name, command.description);
      runners[sub] = command.setup(*sub);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nspbert: internal error while setting up commands: %s\n", cli::one_line(e.what()).c_str());
    return 4;
  }
  // CLI11 would only say "A subcommand is required" for a mistyped command name.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const auto& command : cli::registered_commands()) {
      names += (names.empty() ? "" : ", ") + command.name;
      known = known || command.name == argv[1];
    }
    if (!known) {
      std::fprintf(stderr, "nspbert: usage error: unknown command '%s' (commands: %s)\n",
                   cli::one_line(argv[1]).c_str(), names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nspbert: usage error: %s (see nspbert --help)\n", cli::one_line(e.what()).c_str());
    return 2;
  }
  try {
    for (CLI::App* sub : app.get_subcommands()) return runners.at(sub)();
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "nspbert: error: %s\n", cli::one_line(e.what()).c_str());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "nspbert: error: out of memory\n");
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nspbert: internal error: %s\n", cli::one_line(e.what()).c_str());
    return 4;
  }
}
