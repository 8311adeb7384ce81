#pragma once
// SIGINT/SIGTERM during a streaming command: the first signal asks the stream to stop after the
// chunk in flight (io::request_stop), which is then written and flushed; a second one ends
// the process at once. Outside a stream the default action stays, so loading a model or a command
// that writes only at the end (eval, rank, summarize, ...) stops immediately and loses nothing.
#include <csignal>
#include <cstddef>
#include <string>

namespace nspbert::cli {

// Exit code of a stream stopped by a signal: every line written is complete, and an --output
// FILE.partial can be continued with --resume (docs/bad-input.md).
constexpr int kInterruptedExitCode = 5;

// Installs the handlers for its lifetime. A signal the process was started with ignored (a
// background job of a non-interactive shell ignores SIGINT) stays ignored.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_int_ {
  }, previous_term_{};
};

bool interrupted();

// Prints the one stderr line saying where the stream stopped and returns kInterruptedExitCode.
// `next_step` tells the user how to go on, e.g. "rerun with --resume to continue".
int report_interrupted(size_t lines_written, const std::string& next_step);

}  // namespace nspbert::cli
