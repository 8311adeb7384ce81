// The zero-shot input stream: JsonlReader over an in-memory stream in chunks (and after skip(),
// as --resume uses it), parse_jsonl_line, and then, for every object line, the per-line field
// extraction the shipped task specs (tools/tasks/*.json) ask for: FieldTemplate::render,
// split_at_blank and label_key. The scoring itself needs a model and is not reached.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/jsonl_stream.h"
#include "models/zero_shot/nsp_scorer.h"
#include "models/zero_shot/task_spec.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace nspbert;
using namespace nspbert::io;
using namespace nspbert::zero_shot;

const std::vector<TaskSpec>& task_specs() {
  static const std::vector<TaskSpec> specs = [] {
    std::vector<TaskSpec> loaded;
    for (const auto& entry : std::filesystem::directory_iterator(NSPBERT_SOURCE_DIR "/tools/tasks"))
      if (entry.path().extension() == ".json") loaded.push_back(load_task_spec(entry.path()));
    return loaded;
  }();
  return specs;
}

std::vector<JsonlItem> read_all(std::string_view input, size_t chunk_lines, size_t skip, size_t* skipped) {
  std::istringstream stream{std::string(input)};
  JsonlReader reader(stream, "fuzz.jsonl");
  *skipped = reader.skip(skip);
  std::vector<JsonlItem> all, chunk;
  while (reader.read_chunk(chunk_lines, chunk)) {
    fuzz::require(!chunk.empty() && chunk.size() <= chunk_lines, "read_chunk returned a chunk of the wrong size");
    for (JsonlItem& item : chunk) all.push_back(std::move(item));
  }
  fuzz::require(reader.bytes_read() <= input.size() + 1, "bytes_read counts more than the input");
  return all;
}

// Physical lines as std::getline yields them, and which of them are blank.
std::vector<int64_t> non_blank_line_numbers(std::string_view input) {
  std::vector<int64_t> numbers;
  int64_t number = 0;
  size_t start = 0;
  while (start < input.size()) {
    const size_t newline = input.find('\n', start);
    const std::string_view line = input.substr(start, newline == std::string_view::npos ? newline : newline - start);
    ++number;
    if (!is_blank(line)) numbers.push_back(number);
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  return numbers;
}

void extract_fields(const nlohmann::json& line) {
  for (const TaskSpec& spec : task_specs()) {
    try {
      if (spec.strategy == Strategy::SamplesContrast) {
        spec.segment_a.render(line, spec.join);
        spec.segment_b.render(line, spec.join);
      } else {
        const std::string text = spec.text.render(line, spec.join);
        if (spec.candidates) split_at_blank(text, spec.candidates->blank);
      }
    } catch (const LineError& e) {
      fuzz::check_one_line(e.what());
    }
    if (!spec.label_field.empty() && line.contains(spec.label_field)) label_key(line[spec.label_field]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t chunk_lines = 1 + size % 4;
  fuzz::run_expecting_nspbert_errors(
      [&] {
        size_t skipped = 0;
        const std::vector<JsonlItem> items = read_all(input, chunk_lines, 0, &skipped);
        const std::vector<int64_t> expected = non_blank_line_numbers(input);
        fuzz::require(items.size() == expected.size(), "not one item per non-blank line");
        for (size_t i = 0; i < items.size(); ++i) {
          const JsonlItem& item = items[i];
          fuzz::require(item.line == expected[i], "item has the wrong line number");
          if (!item.error.empty()) {
            fuzz::check_one_line(item.error);
            continue;
          }
          fuzz::require(item.value.is_object(), "an item without error is not a JSON object");
          extract_fields(item.value);
        }
        // Skipping the first line, as --resume does, must leave exactly the rest.
        const std::vector<JsonlItem> rest = read_all(input, chunk_lines, 1, &skipped);
        fuzz::require(skipped == std::min<size_t>(1, items.size()), "skip() skipped the wrong number of lines");
        fuzz::require(rest.size() + skipped == items.size(), "reading after skip() lost or gained lines");
        for (size_t i = 0; i < rest.size(); ++i)
          fuzz::require(rest[i].line == items[i + skipped].line && rest[i].error == items[i + skipped].error,
                        "reading after skip() differs");
      },
      [](std::string_view message) { fuzz::finding("reading an in-memory stream threw", message); });
  return 0;
}
