#include "engine/io/stream.h"

#include <algorithm>
#include <string>

#include "engine/error.h"
#include "engine/io/stop_request.h"

namespace nspbert::io {

bool for_each_chunk(JsonlReader& reader, size_t chunk_lines, Progress* progress,
                    const std::function<void(std::vector<JsonlItem>&)>& chunk) {
  std::vector<JsonlItem> items;
  int64_t seen = 0;
  bool stopped = false;
  while (!(stopped = stop_requested()) && reader.read_chunk(std::max<size_t>(chunk_lines, 1), items)) {
    chunk(items);
    seen += static_cast<int64_t>(items.size());
    if (progress) progress->update(seen, reader.bytes_read());
  }
  if (progress) progress->finish();
  return !stopped;
}

void skip_answered(JsonlReader& reader, const OutputFile& out) {
  const size_t done = out.resumed_lines();
  if (done == 0) return;
  const size_t skipped = reader.skip(done);
  if (skipped < done)
    fail_input((out.path().empty() ? std::string("the output") : out.path()) + " already holds " +
               std::to_string(done) + " lines but " + reader.name() + " has only " + std::to_string(skipped) +
               " non-blank lines: it belongs to another input");
}

}  // namespace nspbert::io
