#include "tools/cli/stream_command.h"

#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>

#include "engine/error.h"
#include "engine/io/shard_merge.h"
#include "engine/io/stream.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/json_io.h"

namespace nspbert::cli {

CLI::Option* add_format_option(CLI::App& app, Format& format, const std::vector<Format>& choices,
                               const std::string& help) {
  static const std::map<Format, std::string> names = {
      {Format::Jsonl, "jsonl"}, {Format::Json, "json"}, {Format::Table, "table"}};
  std::map<std::string, Format> allowed;
  std::string listed;
  for (Format f : choices) {
    allowed[names.at(f)] = f;
    listed += (listed.empty() ? "{" : ",") + names.at(f);
  }
  return app.add_option("--format", format, help)
      ->transform(CLI::CheckedTransformer(allowed).description(listed + "}"))
      ->type_name("TEXT")
      ->default_str(names.at(format));
}

CLI::Option* add_chunk_size_option(CLI::App& app, size_t& chunk_size) {
  return app.add_option("--chunk-size", chunk_size, "Input lines run per encoder batch (memory stays bounded by it)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
}

void refuse_output_over_input(const std::string& output, const std::string& input) {
  if (output.empty() || input.empty() || input == "-") return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool same = fs::equivalent(output, input, ec) || fs::weakly_canonical(output, ec).lexically_normal() ==
                                                             fs::weakly_canonical(input, ec).lexically_normal();
  if (same) fail_usage("--output " + output + " is the input file: the output would replace it; write elsewhere");
}

void InputOptions::add_to(CLI::App& app, bool positional_texts) {
  app.add_option("--input", input,
                 "JSONL input, one object per line (default: the TEXT arguments, else standard input)");
  if (positional_texts) app.add_option("TEXT", texts, "Texts to use instead of JSONL input");
}

std::unique_ptr<io::JsonlReader> InputOptions::open(const std::string& field) const {
  if (!texts.empty() && !input.empty()) fail_usage("give texts as arguments or --input FILE, not both");
  if (!texts.empty()) return std::make_unique<io::JsonlReader>(texts, field);
  return std::make_unique<io::JsonlReader>(input);
}

void StreamOptions::add_to(CLI::App& app, bool positional_texts) {
  source.add_to(app, positional_texts);
  app.add_option("--output", output, "Write here (via FILE.partial, renamed when complete) instead of standard output")
      ->default_str("standard output");
  app.add_flag("--resume", resume,
               "Continue an interrupted --output: keep its complete lines, skip as many input lines");
  add_chunk_size_option(app, chunk_size);
  app.add_option_function<std::string>(
         "--shard", [this](const std::string& text) { shard = io::parse_shard(text); },
         "I/N: only the non-blank input lines whose 0-based index is I modulo N; output lines carry their input line "
         "(nspbert merge joins the shards)")
      ->check(CLI::Validator(
          [](std::string& text) { return io::parse_shard(text) ? std::string() : "expected I/N with 0 <= I < N"; },
          "I/N"))
      ->default_str("all lines");
  app.add_flag("--with-line-numbers", with_line_numbers,
               "Start every output line with {\"input_line\": N, ...}, its line in the input (always with --shard)");
}

std::unique_ptr<io::JsonlReader> StreamOptions::open(const std::string& field) const {
  if (resume && output.empty()) fail_usage("--resume needs --output FILE");
  if (resume && format != Format::Jsonl)
    fail_usage("--resume needs --format jsonl (a JSON array or a table cannot be continued)");
  if (numbered() && format != Format::Jsonl) fail_usage("--shard and --with-line-numbers need --format jsonl");
  refuse_output_over_input(output, source.input);
  std::unique_ptr<io::JsonlReader> reader = source.open(field);
  if (shard) reader->set_shard(*shard);
  return reader;
}

void LineSink::begin(const std::string& table_header) {
  if (format_ == Format::Json) out_.write_line("[");
  if (format_ == Format::Table) out_.write_line(table_header);
}

void LineSink::add(int64_t input_line, const std::string& line, bool failed) {
  // One element per line, the comma in front: every line written is complete (an interrupted
  // --format json output still holds whole lines).
  if (numbered_) {
    out_.write_line(io::with_input_line(input_line, line));
  } else {
    out_.write_line(format_ == Format::Json && lines_ > 0 ? "," + line : line);
  }
  ++lines_;
  if (failed) ++failed_;
}

void LineSink::add(int64_t input_line, const nlohmann::json& result) {
  if (!result.contains("error")) return add(input_line, dump(result), false);
  // Every command's bad lines look alike: {"line": N, "id": ..., "error": "..."} in that order.
  nlohmann::ordered_json bad;
  if (result.contains("line")) bad["line"] = result["line"];
  if (result.contains("id")) bad["id"] = result["id"];
  bad["error"] = result["error"];
  add(input_line, bad.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), true);
}

void LineSink::finish() {
  if (format_ == Format::Json) out_.write_line("]");
}

StreamBody each_chunk(size_t chunk_size, std::function<void(std::vector<io::JsonlItem>&, LineSink&)> chunk) {
  return [chunk_size, chunk = std::move(chunk)](io::JsonlReader& reader, LineSink& sink, io::Progress& progress) {
    io::for_each_chunk(reader, chunk_size, &progress, [&](std::vector<io::JsonlItem>& items) {
      chunk(items, sink);
      sink.end_chunk();
    });
  };
}

namespace {

int report_stop(const StreamOptions& options, io::OutputFile& out, const LineSink& sink, const StreamWords& words) {
  // Not committed: FILE.partial keeps its complete lines for --resume.
  out.flush();
  const size_t written = out.resumed_lines() + static_cast<size_t>(sink.lines());
  if (!words.stop_hint.empty()) return report_interrupted(written, words.stop_hint);
  if (options.output.empty())
    return report_interrupted(written,
                              "they are complete on standard output (with --output FILE, --resume continues a run)");
  if (options.format != Format::Jsonl)
    return report_interrupted(
        written, io::OutputFile::partial_path(options.output) + " holds them, but only --format jsonl can be resumed");
  return report_interrupted(written, "rerun with --resume to continue");
}

}  // namespace

int run_stream(const StreamOptions& options, io::JsonlReader& reader, const StreamWords& words,
               const StreamBody& body) {
  io::OutputFile out(options.output, options.resume);
  io::skip_answered(reader, out);
  LineSink sink(out, options.format, options.numbered());
  sink.begin(words.table_header);
  io::Progress progress(words.done, reader.total_bytes());
  const InterruptGuard guard;
  body(reader, sink, progress);
  if (interrupted()) return report_stop(options, out, sink, words);
  sink.finish();
  out.commit();
  if (sink.lines() == 0 && out.resumed_lines() == 0)
    std::fprintf(stderr, "nspbert: warning: %s has no input lines\n", reader.name().c_str());
  const int64_t failed = sink.failed() + static_cast<int64_t>(out.resumed_errors());
  if (failed == 0) return 0;
  std::fprintf(stderr, "nspbert: %lld of %lld lines could not be %s (see their \"error\" output lines)\n",
               static_cast<long long>(failed),
               static_cast<long long>(sink.lines() + static_cast<int64_t>(out.resumed_lines())), words.done.c_str());
  return 1;
}

std::vector<io::JsonlItem> read_all(io::JsonlReader& reader) {
  std::vector<io::JsonlItem> all, chunk;
  while (reader.read_chunk(4096, chunk)) std::move(chunk.begin(), chunk.end(), std::back_inserter(all));
  return all;
}

void write_results(const std::vector<nlohmann::json>& results, Format format) {
  io::OutputFile out("", /*resume=*/false);
  LineSink sink(out, format);
  sink.begin();
  for (const nlohmann::json& r : results) sink.add(0, r);
  sink.finish();
  out.commit();
}

}  // namespace nspbert::cli
