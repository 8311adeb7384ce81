#pragma once
// Options every command that runs the encoder shares: the model folder, threads, and the
// inference-time attention variants of docs/methods.md §5.
#include <CLI/CLI.hpp>
#include <string>

#include "engine/encoder_spec.h"
#include "models/model.h"

namespace nspbert::cli {

// --jieba-dict and --split-special-tokens, for every command that tokenises with a model folder.
void add_tokenizer_options(CLI::App& app, std::string& jieba_dict, bool& split_special_tokens);

struct ModelOptions {
  std::string model;
  int threads = 0;
  std::string precision = "f32";
  int64_t attention_window = 0;
  double logn_scale = 0;  // training length m; 0 = off
  bool hwfa = false;
  std::string jieba_dict;
  bool split_special_tokens = false;
  // Set by add_to: `--logn-scale` given without a value leaves logn_scale at 0 but still asks
  // for log-n scaling, so whether it was given is read from the option itself.
  CLI::Option* logn_option = nullptr;

  // with_tokenizer: the command tokenises text (adds --jieba-dict, --split-special-tokens).
  void add_to(CLI::App& app, bool with_attention = true, bool with_tokenizer = true);
  // Everything but --model (compare-norms takes several models with the same settings).
  void add_engine_flags(CLI::App& app, bool with_attention = true, bool with_tokenizer = true);
  TokenizerOptions tokenizer() const;
  AttentionOptions attention(const EncoderSpec& spec) const;
  Model load(bool need_tokenizer = true) const;
};

}  // namespace nspbert::cli
