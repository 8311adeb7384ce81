// nspbert pair-score: cross-encoder scoring of text pairs, [CLS] a [SEP] b [SEP] through a
// sequence-classification head (METHODS.md §7), as CoSENT-trained interactive models are used.
#include <cmath>
#include <memory>

#include "engine/error.h"
#include "engine/ops/softmax.h"
#include "tools/cli/command.h"
#include "tools/cli/stream_command.h"
#include "tools/cli/text_input.h"

namespace nspbert::cli {
namespace {

struct PairScoreArgs {
  EncodeStreamOptions options;
  std::string a_field = "sentence1";
  std::string b_field = "sentence2";
  std::string truncation = "longest-first";
};

nlohmann::json scores(const std::vector<float>& logits) {
  nlohmann::json r = {{"logits", logits}};
  if (logits.size() == 1) {
    // A regression / CoSENT head: the raw logit is the score; sigmoid maps it to (0, 1).
    r["score"] = logits[0];
    r["probability"] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[0])));
  } else {
    // Two classes, index 1 = similar: P(similar) = softmax(l)[1] = sigmoid(l1 - l0).
    const double p = prob_is_next(logits[1], logits[0]);
    r["score"] = p;
    r["probability"] = p;
  }
  return r;
}

void check_head(const Model& model) {
  const int64_t outputs = model.encoder->classifier_outputs();
  if (outputs == 0)
    fail_model("this checkpoint has no sequence-classification head (classifier.weight/bias on the pooled "
               "output); pair-score needs a cross-encoder checkpoint");
  if (outputs > 2)
    fail_model("the classifier has " + std::to_string(outputs) +
               " outputs; pair-score reads 1 (a similarity logit) or 2 (softmax, class 1 = similar)");
}

int run(const PairScoreArgs& args) {
  const std::unique_ptr<io::JsonlReader> reader = args.options.stream.open(args.a_field);
  Model model = args.options.encode.model.load();
  check_head(model);
  const AttentionOptions attention = args.options.encode.model.attention(model.spec);
  SequenceBuilder builder(args.options.encode.length, model, attention, /*pairs=*/true);
  const Truncation rule = args.truncation == "nsp" ? Truncation::NspReference : Truncation::LongestFirst;
  BatchPlan plan;
  plan.attention = attention;
  plan.classifier = true;
  auto read = [&](const nlohmann::json& line, nlohmann::json& result, std::string& error) -> std::optional<Sequence> {
    std::optional<std::string> a = string_field(line, args.a_field, error), b;
    if (a) b = string_field(line, args.b_field, error);
    if (!b) return std::nullopt;
    result = {{"a", *a}, {"b", *b}};
    return builder.pair(*a, *b, rule, error);
  };
  return run_encode_stream(args.options, *reader, builder, StreamWords(), read, [&](EncodedChunk& chunk) {
    const std::vector<SequenceOutputs> out = run_sequences(*model.encoder, chunk.sequences, plan);
    for (size_t n = 0; n < chunk.slot.size(); ++n) chunk.results[chunk.slot[n]].update(scores(out[n].classifier_logits));
  });
}

void declare(CLI::App& app, PairScoreArgs& args) {
  args.options.add_to(app, /*with_text_field=*/false);
  app.add_option("--a-field", args.a_field, "JSONL field of the first text")->capture_default_str();
  app.add_option("--b-field", args.b_field, "JSONL field of the second text")->capture_default_str();
  app.add_option("--truncation", args.truncation,
                 "Which text loses tokens past --max-length: longest-first (Hugging Face's rule, ties from b) "
                 "or nsp (ties from a)")
      ->check(CLI::IsMember({"longest-first", "nsp"}))
      ->capture_default_str();
}

const bool registered = register_command<PairScoreArgs>(
    "pair-score", "Score JSONL text pairs with a cross-encoder (sequence-classification) checkpoint", declare, run);

}  // namespace
}  // namespace nspbert::cli
