// nspbert embed: one sentence vector per input text (mean, [CLS] or pooler), as JSON.
#include <memory>

#include "engine/error.h"
#include "engine/similarity/sentence_vectors.h"
#include "tools/cli/command.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct EmbedArgs {
  EncodeStreamOptions options;
  bool normalize = false;
};

int run(const EmbedArgs& args) {
  const Pooling pooling = *parse_pooling(args.options.encode.pooling);
  const std::unique_ptr<io::JsonlReader> reader = args.options.stream.open(args.options.encode.field);
  Model model = args.options.encode.model.load();
  const AttentionOptions attention = args.options.encode.model.attention(model.spec);
  SequenceBuilder builder(args.options.encode.length.limit(), model, attention, /*pairs=*/false);
  auto read = [&](const nlohmann::json& line, nlohmann::json& result, std::string& error) -> std::optional<Sequence> {
    const std::optional<std::string> text = string_field(line, args.options.encode.field, error);
    if (!text) return std::nullopt;
    result = {{"text", *text}};
    return builder.single(*text, error);
  };
  return run_encode_stream(args.options, *reader, builder, StreamWords("embedded"), read, [&](EncodedChunk& chunk) {
    VectorSet vectors = sentence_vectors(*model.encoder, chunk.sequences, pooling, attention);
    if (args.normalize) vectors = normalized(vectors);
    for (size_t n = 0; n < chunk.slot.size(); ++n)
      chunk.results[chunk.slot[n]]["embedding"] = std::vector<float>(vectors.row(n), vectors.row(n) + vectors.dim);
  });
}

void declare(CLI::App& app, EmbedArgs& args) {
  args.options.add_to(app, /*with_text_field=*/true);
  app.add_flag("--normalize", args.normalize, "Scale every embedding to unit length");
}

const bool registered = register_command<EmbedArgs>(
    "embed", "Sentence vectors: one {\"text\", \"embedding\"} per input text", declare, run);

}  // namespace
}  // namespace nspbert::cli
