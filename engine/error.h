#pragma once
// One exception type for everything a user can get wrong; its kind picks the exit code.
#include <stdexcept>
#include <string>

namespace nspbert {

// The process exit codes (README, "Exit codes"): 0 every line scored; 1 some stream lines failed
// (reported per line, not thrown); 2 usage error (ErrorKind::Usage, and CLI11 parse errors);
// 3 model or input file unusable (ErrorKind::Model and ErrorKind::Input); 4 internal error
// (ErrorKind::Internal, any other exception, out of memory); 5 interrupted by SIGINT/SIGTERM
// (tools/cli/interrupt.h, not an exception). exit_code_for maps the thrown kinds.
enum class ErrorKind { Usage, Model, Input, Internal };

constexpr int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage: return 2;
    case ErrorKind::Model: return 3;
    case ErrorKind::Input: return 3;
    case ErrorKind::Internal: return 4;
  }
  return 4;
}

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return exit_code_for(kind_); }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail_usage(const std::string& m) { throw Error(ErrorKind::Usage, m); }
[[noreturn]] inline void fail_model(const std::string& m) { throw Error(ErrorKind::Model, m); }
[[noreturn]] inline void fail_input(const std::string& m) { throw Error(ErrorKind::Input, m); }

}  // namespace nspbert
