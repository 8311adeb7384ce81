#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <new>
#include <string>

#include "engine/error.h"
#include "engine/io/progress.h"
#include "tools/cli/command.h"
#include "tools/cli/flag_check.h"

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

// --quiet and --progress on every command: whether the progress line shows (engine/io/progress.h).
static void add_progress_flags(CLI::App& command) {
  auto* quiet = command.add_flag_callback(
      "--quiet", [] { io::set_progress_mode(io::ProgressMode::Off); }, "No progress line on stderr");
  auto* progress = command.add_flag_callback(
      "--progress", [] { io::set_progress_mode(io::ProgressMode::On); },
      "Progress on stderr even when it is not a terminal (default: only on a terminal)");
  quiet->excludes(progress);
}

// A result lost to a full disk or a closed pipe must not end with exit 0 (commands that print
// with printf/std::cout do not check each write; the flush at the end catches them all).
static void check_standard_output() {
  std::cout.flush();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout)
    fail_input(std::string("cannot write standard output: ") + std::strerror(errno ? errno : EIO));
}

static int usage_error(const std::string& message, const std::string& command) {
  std::fprintf(stderr, "nspbert: usage error: %s (see nspbert %s--help)\n", one_line(message).c_str(),
               command.empty() ? "" : (command + " ").c_str());
  return 2;
}

}  // namespace nspbert::cli

int main(int argc, char** argv) {
  using namespace nspbert;
  CLI::App app{"nspbert: BERT-family encoders on the CPU, NSP-BERT zero-shot classification"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nspbert 0.1");
  app.option_defaults()->always_capture_default();  // every default shows in --help
  std::map<CLI::App*, cli::Runner> runners;
  try {
    for (const auto& command : cli::registered_commands()) {
      CLI::App* sub = app.add_subcommand(command.name, command.description);
      runners[sub] = command.setup(*sub);
      cli::add_progress_flags(*sub);
      for (CLI::Option* option : sub->get_options())
        if (option->get_default_str() == "[]") option->default_str("");  // a list has no default
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
    if (!known) return cli::usage_error("unknown command '" + std::string(argv[1]) + "' (commands: " + names + ")", "");
  }
  const std::string command = argc > 1 && argv[1][0] != '-' ? argv[1] : "";
  if (!command.empty()) {
    // Before CLI11 parses: it would report a mistyped flag as the required flag it failed to set.
    const std::optional<std::string> unknown =
        cli::unknown_flag_message(*app.get_subcommand(command), std::vector<std::string>(argv + 2, argv + argc));
    if (unknown) return cli::usage_error(*unknown, command);
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
    return cli::usage_error(e.what(), command);
  }
  try {
    for (CLI::App* sub : app.get_subcommands()) {
      const int code = runners.at(sub)();
      cli::check_standard_output();
      return code;
    }
    return 2;
  } catch (const Error& e) {
    const std::string hint = e.kind() == ErrorKind::Usage ? " (see nspbert " + command + " --help)" : "";
    std::fprintf(stderr, "nspbert: error: %s%s\n", cli::one_line(e.what()).c_str(), hint.c_str());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "nspbert: error: out of memory\n");
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nspbert: internal error: %s\n", cli::one_line(e.what()).c_str());
    return 4;
  }
}
