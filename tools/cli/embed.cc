// nspbert embed: one sentence vector per input text (mean, [CLS] or pooler), as JSON.
#include <memory>

#include "engine/error.h"
#include "engine/similarity/sentence_vectors.h"
#include "tools/cli/command.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct EmbedArgs {
  EncodeOptions encode;
  // Lines per encoder round: big enough for good batches, small enough to stream.
  StreamOptions stream{2048};
  bool normalize = false;
};

int run(const EmbedArgs& args) {
  const Pooling pooling = *parse_pooling(args.encode.pooling);
  const std::unique_ptr<io::JsonlReader> reader = args.stream.open(args.encode.field);
  Model model = args.encode.model.load();
  const AttentionOptions attention = args.encode.model.attention(model.spec);
  SequenceBuilder builder(args.encode.length.limit(), model, attention, /*pairs=*/false);
  auto read = [&](const nlohmann::json& line, nlohmann::json& result, std::string& error) -> std::optional<Sequence> {
    const std::optional<std::string> text = string_field(line, args.encode.field, error);
    if (!text) return std::nullopt;
    result = {{"text", *text}};
    return builder.single(*text, error);
  };
  auto embed_chunk = [&](std::vector<io::JsonlItem>& items, LineSink& sink) {
    EncodedChunk chunk = encode_chunk(items, read);
    VectorSet vectors = sentence_vectors(*model.encoder, chunk.sequences, pooling, attention);
    if (args.normalize) vectors = normalized(vectors);
    for (size_t n = 0; n < chunk.slot.size(); ++n)
      chunk.results[chunk.slot[n]]["embedding"] = std::vector<float>(vectors.row(n), vectors.row(n) + vectors.dim);
    for (size_t i = 0; i < items.size(); ++i) sink.add(items[i].line, chunk.results[i]);
  };
  const int code = run_stream(args.stream, *reader, {.done = "embedded"}, each_chunk(args.stream.chunk_size, embed_chunk));
  if (code != kInterruptedExitCode) builder.print_notes();
  return code;
}

const bool registered = register_command(
    {"embed", "Sentence vectors: one {\"text\", \"embedding\"} per input text",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<EmbedArgs>();
       args->encode.add_to(app, /*with_text_field=*/true);
       args->stream.add_to(app, /*positional_texts=*/true);
       add_format_option(app, args->stream.format, {Format::Json, Format::Jsonl}, "json (one array) or jsonl (one object per line)");
       app.add_flag("--normalize", args->normalize, "Scale every embedding to unit length");
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
