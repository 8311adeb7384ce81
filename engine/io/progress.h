#pragma once
// The progress line every streaming command shows: time-based (a first update within a second,
// even when one chunk of lines takes longer), on stderr only when stderr is a terminal unless
// --progress/--quiet say otherwise, erased before a result is written to the same terminal, and
// ending with the exact count: "scored 10980 lines in 12.3 s (890.2 lines/s)".
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace nspbert::io {

enum class ProgressMode { Auto, On, Off };  // Auto: only when stderr is a terminal
void set_progress_mode(ProgressMode mode);
bool progress_enabled();

// Erases a progress line that is on the screen (the next tick draws it again).
void clear_progress_line();

// Erases the progress line and keeps it off the screen while it lives: OutputFile holds one while
// it writes to a standard output that is a terminal, so no result line ever holds progress text.
class ProgressPause {
 public:
  ProgressPause();
  ~ProgressPause();
  ProgressPause(const ProgressPause&) = delete;
  ProgressPause& operator=(const ProgressPause&) = delete;
};

class Progress {
 public:
  // `verb` says what happened to the lines ("scored", "embedded"); total_bytes 0: no ETA.
  explicit Progress(std::string verb, uint64_t total_bytes = 0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  static bool stderr_is_terminal();
  // Thread-safe and cheap: the ticker thread draws.
  void update(int64_t items, uint64_t bytes_done = 0);
  // Stops the ticker and, when enabled, prints the exact count and rate on its own line.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void tick();
  void draw();

  std::string verb_;
  uint64_t total_bytes_;
  bool enabled_;
  bool terminal_;
  Clock::time_point start_;
  std::atomic<int64_t> items_{0};
  std::atomic<uint64_t> bytes_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread ticker_;
};

}  // namespace nspbert::io
