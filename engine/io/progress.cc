#include "engine/io/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace nspbert::io {
namespace {

std::atomic<ProgressMode> g_mode{ProgressMode::Auto};
// One progress line at a time on stderr; the mutex orders drawing it against erasing it.
std::mutex g_line_mutex;
bool g_line_shown = false;

std::string clock_text(double seconds) {
  const long s = std::lround(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

}  // namespace

void set_progress_mode(ProgressMode mode) { g_mode = mode; }

bool progress_enabled() {
  const ProgressMode mode = g_mode;
  return mode == ProgressMode::On || (mode == ProgressMode::Auto && Progress::stderr_is_terminal());
}

static void erase_shown_line() {
  if (!g_line_shown) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  g_line_shown = false;
}

void clear_progress_line() {
  const std::lock_guard lock(g_line_mutex);
  erase_shown_line();
}

ProgressPause::ProgressPause() {
  g_line_mutex.lock();
  erase_shown_line();
}

ProgressPause::~ProgressPause() { g_line_mutex.unlock(); }

bool Progress::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string verb, uint64_t total_bytes)
    : verb_(std::move(verb)),
      total_bytes_(total_bytes),
      enabled_(progress_enabled()),
      terminal_(stderr_is_terminal()),
      start_(Clock::now()) {
  if (enabled_) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Progress::update(int64_t items, uint64_t bytes_done) {
  items_ = items;
  bytes_ = bytes_done;
}

void Progress::tick() {
  // A terminal is redrawn 4 times a second from 0.5 s on; a log file (--progress) gets a line every 10 s.
  const auto period = terminal_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(10000);
  auto next = start_ + (terminal_ ? std::chrono::milliseconds(500) : period);
  std::unique_lock lock(mutex_);
  while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
    draw();
    next += period;
  }
}

void Progress::draw() {
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  const int64_t items = items_;
  const uint64_t bytes = bytes_;
  std::string text = verb_ + " " + std::to_string(items) + " lines";
  if (items > 0) {
    char rate[64];
    std::snprintf(rate, sizeof rate, ", %.1f lines/s", items / seconds);
    text += rate;
  }
  if (total_bytes_ > 0 && bytes > 0 && bytes <= total_bytes_)
    text += ", ETA " + clock_text(seconds * static_cast<double>(total_bytes_ - bytes) / static_cast<double>(bytes));
  text += ", " + clock_text(seconds) + " elapsed";
  const std::lock_guard line(g_line_mutex);
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    g_line_shown = true;
  } else {
    std::fprintf(stderr, "nspbert: %s\n", text.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  {
    const std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (!enabled_) return;
  clear_progress_line();
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  const int64_t items = items_;
  std::fprintf(stderr, "nspbert: %s %lld lines in %.1f s (%.1f lines/s)\n", verb_.c_str(),
               static_cast<long long>(items), seconds, seconds > 0 ? items / seconds : 0.0);
  std::fflush(stderr);
}

}  // namespace nspbert::io
