#pragma once
// What every target asserts besides the sanitizers: input the library rejects comes back as an
// nspbert::Error whose message is usable; any other exception or a bad message is a finding,
// reported by abort() so libFuzzer saves the input.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "engine/error.h"

namespace nspbert::fuzz {

[[noreturn]] inline void finding(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz finding: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void require(bool condition, const char* what, std::string_view detail = {}) {
  if (!condition) finding(what, detail);
}

// main prints "nspbert: error: <message>": one line, and it has to say something.
inline void check_one_line(std::string_view message) {
  require(!message.empty(), "empty error message");
  require(message.find_first_of("\n\r") == std::string_view::npos, "error message spans several lines", message);
}

// Runs `body`; an nspbert::Error is an accepted outcome whose message `check_message` inspects.
template <typename Body, typename Check>
void run_expecting_nspbert_errors(Body&& body, Check&& check_message) {
  try {
    body();
  } catch (const Error& e) {
    check_message(std::string_view(e.what()));
  } catch (const std::exception& e) {
    finding("an exception other than nspbert::Error escaped", e.what());
  }
}

}  // namespace nspbert::fuzz
