#include "tools/cli/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "engine/io/stop_request.h"

namespace nspbert::cli {

namespace {

// Set by whoever prints the one "interrupted" line first: the stream's report or a second signal.
std::atomic<bool> reported{false};

void on_stop_signal(int) {
  if (!io::stop_requested()) {
    io::request_stop();
    return;
  }
  // The report is being printed and the process is exiting with code 5 anyway.
  if (reported.exchange(true)) return;
  // Complete lines already written still count on --resume; a torn last line is cut there.
  static const char message[] = "nspbert: interrupted again: stopping at once (complete output lines are kept)\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message, sizeof message - 1);
  ::_exit(kInterruptedExitCode);
}

void install(int signal, struct sigaction& previous) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a read interrupted by the signal resumes instead of looking like the end of input.
  action.sa_flags = SA_RESTART;
  if (::sigaction(signal, nullptr, &previous) != 0 || previous.sa_handler == SIG_IGN) return;
  ::sigaction(signal, &action, nullptr);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  install(SIGINT, previous_int_);
  install(SIGTERM, previous_term_);
}

InterruptGuard::~InterruptGuard() {
  // Once stopping, the process is on its way out with code 5: a further signal must not kill it
  // with the default action instead.
  if (interrupted()) return;
  ::sigaction(SIGINT, &previous_int_, nullptr);
  ::sigaction(SIGTERM, &previous_term_, nullptr);
}

bool interrupted() { return io::stop_requested(); }

int report_interrupted(size_t lines_written, const std::string& next_step) {
  if (reported.exchange(true)) return kInterruptedExitCode;
  std::fprintf(stderr, "nspbert: interrupted after %zu lines; %s\n", lines_written, next_step.c_str());
  return kInterruptedExitCode;
}

}  // namespace nspbert::cli
