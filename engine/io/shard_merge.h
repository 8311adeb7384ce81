#pragma once
// Sharded streams (--shard I/N) and their merge. Each output line of a sharded or
// --with-line-numbers run starts with the global input line it answers:
//   {"input_line":12,<the unsharded run's line without its opening brace>
// so merge restores the unsharded output byte for byte by cutting that prefix off again.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nspbert::io {

// `line` (a JSON object) with the input line number in front.
std::string with_input_line(int64_t input_line, std::string_view line);
// The input line number of a numbered line, and in `rest` the line as an unnumbered run writes it;
// nullopt when the line carries no number.
std::optional<int64_t> split_input_line(std::string_view line, std::string& rest);

struct MergeRequest {
  std::string input;                // the input the shards were run on: says which lines must be there
  std::vector<std::string> shards;  // outputs of the shard runs, in any order
  std::string output;               // written via OUTPUT.partial, renamed when complete
  bool keep_line_numbers = false;   // as an unsharded --with-line-numbers run writes it
};

// Writes every non-blank input line's output line once, in input order. Fails (input error) naming
// the lines when any is missing, answered twice, or not a non-blank line of the input; nothing is
// written then. Returns the number of lines written.
size_t merge_shards(const MergeRequest& request);

}  // namespace nspbert::io
