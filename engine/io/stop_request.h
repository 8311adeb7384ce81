#pragma once
// A request from outside the stream (SIGINT/SIGTERM, through the CLI's handler) to stop at the
// next chunk boundary: the chunk in flight is finished, written and flushed first, so an output
// holds only complete lines and --resume can continue it. Safe to call from a signal handler.
namespace nspbert::io {

void request_stop();
bool stop_requested();
void clear_stop_request();

}  // namespace nspbert::io
