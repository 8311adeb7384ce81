#include "engine/io/shard_merge.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <memory>
#include <queue>
#include <tuple>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"

namespace nspbert::io {

namespace {

constexpr std::string_view kPrefix = "{\"input_line\":";
constexpr size_t kNamedAtMost = 10;  // line numbers an error names; the rest are counted

// One shard file, read a line at a time; its numbers must rise (each run writes in input order).
class ShardLines {
 public:
  explicit ShardLines(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) fail_input(path + ": cannot open the shard output");
  }
  // The next line's number (its text without the number in `rest`); false at the end.
  bool next(int64_t& number, std::string& rest) {
    std::string line;
    if (!std::getline(in_, line)) {
      if (in_.bad()) fail_input("error while reading " + path_);
      return false;
    }
    ++line_count_;
    if (in_.eof()) fail_input(path_ + " ends in an incomplete line (an interrupted run? finish it with --resume)");
    const std::optional<int64_t> n = split_input_line(line, rest);
    if (!n)
      fail_input(path_ + " line " + std::to_string(line_count_) +
                 " has no input line number: merge takes outputs written with --shard or --with-line-numbers");
    if (*n < last_)
      fail_input(path_ + " line " + std::to_string(line_count_) + " answers input line " + std::to_string(*n) +
                 " after line " + std::to_string(last_) + ": not in input order");
    number = last_ = *n;
    return true;
  }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t line_count_ = 0;
  int64_t last_ = 0;
};

// Line numbers for an error message: the first few, then how many more.
struct NumberList {
  std::vector<int64_t> named;
  size_t count = 0;
  void add(int64_t n) {
    if (named.size() < kNamedAtMost) named.push_back(n);
    ++count;
  }
  std::string text() const {
    std::string s;
    for (int64_t n : named) s += (s.empty() ? "" : ", ") + std::to_string(n);
    if (count > named.size()) s += " and " + std::to_string(count - named.size()) + " more";
    return s;
  }
};

// The physical numbers of the input's non-blank lines, in order.
class ExpectedLines {
 public:
  explicit ExpectedLines(const std::string& input) : reader_(input) { reader_.keep_lines_unparsed(); }
  bool peek(int64_t& line) {
    if (at_ == chunk_.size()) {
      at_ = 0;
      if (!reader_.read_chunk(4096, chunk_)) return false;
    }
    line = chunk_[at_].line;
    return true;
  }
  void pop() { ++at_; }

 private:
  JsonlReader reader_;
  std::vector<JsonlItem> chunk_;
  size_t at_ = 0;
};

}  // namespace

std::string with_input_line(int64_t input_line, std::string_view line) {
  std::string out(kPrefix);
  out += std::to_string(input_line);
  const std::string_view body = line.empty() ? std::string_view("}") : line.substr(1);  // after the '{'
  if (body.find_first_not_of(" \t") != std::string_view::npos && body[body.find_first_not_of(" \t")] != '}') out += ',';
  out += body;
  return out;
}

std::optional<int64_t> split_input_line(std::string_view line, std::string& rest) {
  if (!line.starts_with(kPrefix)) return std::nullopt;
  const char* begin = line.data() + kPrefix.size();
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(begin, line.data() + line.size(), n);
  if (ec != std::errc() || n < 1 || end == line.data() + line.size() || (*end != ',' && *end != '}'))
    return std::nullopt;
  rest = "{";
  rest.append(*end == ',' ? end + 1 : end, line.data() + line.size());
  return n;
}

namespace {

// The shards' lines in input-line order: the smallest pending number over all shards first.
class MergedShards {
 public:
  explicit MergedShards(const std::vector<std::string>& paths) {
    for (const std::string& path : paths) shards_.push_back(std::make_unique<ShardLines>(path));
    for (size_t s = 0; s < shards_.size(); ++s) refill(s);
  }
  bool next(int64_t& line, std::string& text) {
    if (heads_.empty()) return false;
    Head h = heads_.top();
    heads_.pop();
    refill(h.shard);
    line = h.line;
    text = std::move(h.text);
    return true;
  }

 private:
  struct Head {
    int64_t line;
    size_t shard;
    std::string text;
    bool operator>(const Head& o) const { return std::tie(line, shard) > std::tie(o.line, o.shard); }
  };
  void refill(size_t s) {
    Head h{0, s, {}};
    if (shards_[s]->next(h.line, h.text)) heads_.push(std::move(h));
  }
  std::vector<std::unique_ptr<ShardLines>> shards_;
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads_;
};

// Walks the merged lines and the input's non-blank lines side by side.
size_t merge_into(MergedShards& merged, ExpectedLines& expected, OutputFile& out, const MergeRequest& request) {
  NumberList missing, twice, foreign;
  size_t written = 0;
  int64_t line = 0, want = 0, last_written = 0;
  std::string text;
  while (merged.next(line, text)) {
    if (line == last_written) {
      twice.add(line);
      continue;
    }
    for (; expected.peek(want) && want < line; expected.pop()) missing.add(want);
    if (!expected.peek(want) || want != line) {
      foreign.add(line);
      continue;
    }
    expected.pop();
    out.write_line(request.keep_line_numbers ? with_input_line(line, text) : text);
    last_written = line;
    ++written;
  }
  for (; expected.peek(want); expected.pop()) missing.add(want);
  if (missing.count + twice.count + foreign.count == 0) return written;
  std::string problems;
  auto say = [&](const NumberList& list, const std::string& what) {
    if (list.count > 0) problems += (problems.empty() ? "" : "; ") + what + " " + list.text();
  };
  say(missing, "missing input lines");
  say(twice, "lines answered twice");
  say(foreign, "lines that are not non-blank lines of the input:");
  fail_input("the shards do not answer every non-blank line of " + request.input + " exactly once: " + problems +
             "; nothing was written");
}

}  // namespace

size_t merge_shards(const MergeRequest& request) {
  if (request.shards.empty()) fail_usage("merge needs the shard outputs");
  MergedShards merged(request.shards);
  ExpectedLines expected(request.input);
  OutputFile out(request.output, /*resume=*/false);
  try {
    const size_t written = merge_into(merged, expected, out, request);
    out.commit();
    return written;
  } catch (...) {
    out.discard();  // a partial merge must not be left to look like a result
    throw;
  }
}

}  // namespace nspbert::io
