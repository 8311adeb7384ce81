#pragma once
// The loop every stream runs, for the library (models/zero_shot/task_runner.cc) and the CLI
// (tools/cli/stream_command.cc) alike: read a chunk of lines, hand it on, show progress, and stop
// between chunks when asked (stop_request.h), so an output holds only complete lines.
#include <cstddef>
#include <functional>
#include <vector>

#include "engine/io/jsonl_stream.h"

namespace nspbert::io {

// Calls `chunk` on the reader's next `chunk_lines` lines until the input ends or a stop is
// requested. False when a stop request ended it before the input did.
bool for_each_chunk(JsonlReader& reader, size_t chunk_lines, Progress* progress,
                    const std::function<void(std::vector<JsonlItem>&)>& chunk);

// --resume: skips as many input lines as `out` already holds. Fails (input error) when the input
// has fewer: the output then belongs to another input.
void skip_answered(JsonlReader& reader, const OutputFile& out);

}  // namespace nspbert::io
