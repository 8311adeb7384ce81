#include "tools/cli/model_options.h"

#include "models/attention_options.h"

namespace nspbert::cli {

void add_tokenizer_options(CLI::App& app, std::string& jieba_dict, bool& split_special_tokens) {
  app.add_option("--jieba-dict", jieba_dict,
                 "jieba's dict.txt for RoFormer word-level vocabularies (default: the model folder's "
                 "jieba_dict.txt, else python3-jieba's)");
  app.add_flag("--split-special-tokens", split_special_tokens,
               "Tokenise [MASK], [CLS]... written in a text like any other text (default: each stays one token)");
}

void ModelOptions::add_to(CLI::App& app, bool with_attention, bool with_tokenizer) {
  app.add_option("--model", model, "Model folder (config.json, weights, vocab.txt)")->required();
  add_engine_flags(app, with_attention, with_tokenizer);
}

void ModelOptions::add_engine_flags(CLI::App& app, bool with_attention, bool with_tokenizer) {
  app.add_option("--threads", threads, "Threads (0: all cores)")->check(CLI::Range(0, 1024))->default_str("all cores");
  if (with_tokenizer) add_tokenizer_options(app, jieba_dict, split_special_tokens);
  app.add_option("--precision", precision,
                 "GEMM precision of the encoder layers: f32 (exact), bf16, int8, or auto (bf16 where the CPU has "
                 "native bf16 dot products, else f32)")
      ->check(CLI::IsMember({"f32", "bf16", "int8", "auto"}))
      ->capture_default_str();
  if (!with_attention) return;
  app.add_option("--attention-window", attention_window, "Local attention: token i sees j only when |i-j| <= W")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->default_str("off");
  logn_option = app.add_option("--logn-scale", logn_scale,
                               "[M] Scale attention logits by max(1, log_M n), n = the sequence length, M = the "
                               "training length (default: off; M defaults to max_position_embeddings)")
                    ->expected(0, 1)
                    ->check(CLI::Validator(
                        [](const std::string& value) -> std::string {
                          if (value.empty()) return {};
                          double m = 0;
                          if (!CLI::detail::lexical_cast(value, m) || !(m > 1))
                            return "the training length m must be a number greater than 1";
                          return {};
                        },
                        "M > 1"))
                    ->default_str("");  // given without a value, the flag must see an empty M
  app.add_flag("--hwfa", hwfa, "Window attention in all but the last layer, full attention + log-n in the last");
}

AttentionOptions ModelOptions::attention(const EncoderSpec& spec) const {
  AttentionRequest request;
  request.window = attention_window;
  request.logn = logn_scale != 0 || (logn_option && logn_option->count() > 0);
  request.logn_base = logn_scale;
  request.hwfa = hwfa;
  return resolve_attention(request, spec);
}

TokenizerOptions ModelOptions::tokenizer() const {
  TokenizerOptions options;
  options.jieba_dict = jieba_dict;
  options.split_special_tokens = split_special_tokens;
  return options;
}

Model ModelOptions::load(bool need_tokenizer) const {
  LoadOptions options;
  options.tokenizer = tokenizer();
  options.threads = threads;
  options.need_tokenizer = need_tokenizer;
  options.precision = parse_precision(precision);
  return load_model(model, options);
}

}  // namespace nspbert::cli
