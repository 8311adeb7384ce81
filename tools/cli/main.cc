#include <cstdio>
#include <iostream>
#include <map>
#include <new>

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
    std::fprintf(stderr, "nspbert: internal error while setting up commands: %s\n", e.what());
    return 4;
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
    std::string message = e.what();
    for (char& c : message) if (c == '\n') c = ' ';
    std::fprintf(stderr, "nspbert: usage error: %s (see nspbert --help)\n", message.c_str());
    return 2;
  }
  try {
    for (CLI::App* sub : app.get_subcommands()) return runners.at(sub)();
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "nspbert: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "nspbert: error: out of memory\n");
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nspbert: internal error: %s\n", e.what());
    return 4;
  }
}
