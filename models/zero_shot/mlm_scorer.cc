#include "models/zero_shot/mlm_scorer.h"

#include <algorithm>
#include <map>

#include "engine/error.h"

namespace nspbert::zero_shot {

MlmPromptScorer::MlmPromptScorer(const Encoder& encoder, const Tokenizer& tokenizer, std::vector<std::string> templates,
                                 std::vector<std::string> label_words, MlmSettings settings)
    : encoder_(encoder), tokenizer_(tokenizer), settings_(std::move(settings)), template_count_(templates.size()) {
  const EncoderSpec& spec = encoder.spec();
  if (spec.position_kind == PositionKind::Absolute && static_cast<int64_t>(settings_.max_length) > spec.max_positions)
    fail_usage("max length " + std::to_string(settings_.max_length) +
               " exceeds the model's position table (max_position_embeddings " + std::to_string(spec.max_positions) +
               ")");
  if (!encoder.heads().mlm) fail_model("this checkpoint has no MLM head (cls.predictions); use --scorer nsp");
  const int32_t mask = tokenizer.special().mask;
  if (mask < 0) fail_model("the vocabulary has no [MASK] token for the MLM scorer");
  if (templates.empty()) fail_usage("no templates");
  if (label_words.empty()) fail_usage("no labels");
  if (settings_.max_length < 3)
    fail_usage("max length " + std::to_string(settings_.max_length) + " cannot hold [CLS] A [SEP] B [SEP]");
  if (settings_.max_slots_per_call == 0) settings_.max_slots_per_call = 1;

  for (const std::string& word : label_words) {
    std::vector<int32_t> ids;
    for (const Token& t : tokenizer.tokenize(word)) ids.push_back(t.id);
    if (ids.empty()) fail_usage("label '" + word + "' has no tokens in this vocabulary");
    label_tokens_.push_back(std::move(ids));
  }
  for (size_t t = 0; t < templates.size(); ++t) {
    const std::string& pattern = templates[t];
    check_prompt_template(pattern);
    const size_t slot = pattern.find("{label}");
    if (pattern.find("{label}", slot + 7) != std::string::npos)
      fail_usage("the MLM scorer takes one {label} slot per template; \"" + pattern + "\" has more");
    const std::vector<Token> before = tokenizer.tokenize(pattern.substr(0, slot));
    const std::vector<Token> after = tokenizer.tokenize(pattern.substr(slot + 7));
    std::map<size_t, std::vector<size_t>> by_length;
    for (size_t k = 0; k < label_tokens_.size(); ++k) by_length[label_tokens_[k].size()].push_back(k);
    for (auto& [n, labels] : by_length) {
      Group g;
      g.template_index = t;
      g.prompt = before;
      g.mask_begin = before.size();
      for (size_t i = 0; i < n; ++i) g.prompt.push_back(Token{std::string(tokenizer.token_of(mask)), mask, 0, 0});
      g.prompt.insert(g.prompt.end(), after.begin(), after.end());
      if (g.prompt.size() + 3 > settings_.max_length)
        fail_usage("the prompt \"" + pattern + "\" with " + std::to_string(n) + " [MASK] slots needs " +
                   std::to_string(g.prompt.size() + 3) + " tokens, more than max length " +
                   std::to_string(settings_.max_length));
      g.labels = std::move(labels);
      groups_.push_back(std::move(g));
    }
  }
  if (settings_.calibrate) {
    const auto empty = log_probs({std::vector<Token>{}}, every_label(1, label_tokens_.size()));
    empty_text_ = empty[0];
  }
}

std::vector<std::vector<std::vector<double>>> MlmPromptScorer::log_probs(
    const std::vector<std::vector<Token>>& texts, const std::vector<std::vector<size_t>>& labels) const {
  const size_t K = label_tokens_.size();
  std::vector<std::vector<bool>> wanted(texts.size(), std::vector<bool>(K));
  for (size_t x = 0; x < texts.size(); ++x)
    for (size_t k : labels[x]) {
      if (k >= K) fail_usage("label index " + std::to_string(k) + " out of range");
      wanted[x][k] = true;
    }
  std::vector<std::vector<std::vector<double>>> out(
      texts.size(), std::vector<std::vector<double>>(K, std::vector<double>(template_count_)));
  // Sequences go to the encoder in slices bounded by their [MASK] count; each slice is reduced to
  // the few log-probabilities the labels need before the next one runs.
  struct Pending {
    size_t text, group;
  };
  std::vector<Sequence> sequences;
  std::vector<Pending> pending;
  size_t slots = 0;
  auto run = [&] {
    if (sequences.empty()) return;
    BatchPlan plan = settings_.plan;
    plan.nsp = false;
    const std::vector<SequenceOutputs> outputs = run_sequences(encoder_, sequences, plan);
    for (size_t s = 0; s < outputs.size(); ++s) {
      const Group& g = groups_[pending[s].group];
      for (size_t k : g.labels) {
        if (!wanted[pending[s].text][k]) continue;
        const std::vector<int32_t>& ids = label_tokens_[k];
        double sum = 0.0;
        for (size_t i = 0; i < ids.size(); ++i) sum += outputs[s].mlm_log_probs[i][ids[i]];
        out[pending[s].text][k][g.template_index] = sum / static_cast<double>(ids.size());
      }
    }
    sequences.clear();
    pending.clear();
    slots = 0;
  };
  for (size_t x = 0; x < texts.size(); ++x) {
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
      const Group& g = groups_[gi];
      if (std::none_of(g.labels.begin(), g.labels.end(), [&](size_t k) { return wanted[x][k]; })) continue;
      const size_t n = label_tokens_[g.labels[0]].size();
      // The prompt stays whole (its [MASK] slots must survive): only the text is cut to fit.
      const size_t text_budget = settings_.max_length - 3 - g.prompt.size();
      std::vector<Token> text(texts[x].begin(),
                              texts[x].begin() + static_cast<std::ptrdiff_t>(std::min(text_budget, texts[x].size())));
      const size_t text_len = text.size();
      const bool prefix = settings_.position == PromptPosition::Prefix;
      Encoding e = prefix ? encode_tokens(tokenizer_, g.prompt, std::move(text), settings_.max_length)
                          : encode_tokens(tokenizer_, std::move(text), g.prompt, settings_.max_length);
      Sequence s;
      s.ids = std::move(e.ids);
      s.type_ids = std::move(e.type_ids);
      const size_t first = prefix ? 1 + g.mask_begin : 1 + text_len + 1 + g.mask_begin;
      for (size_t i = 0; i < n; ++i) s.mlm_positions.push_back(static_cast<int64_t>(first + i));
      if (slots + n > settings_.max_slots_per_call) run();
      sequences.push_back(std::move(s));
      pending.push_back({x, gi});
      slots += n;
    }
  }
  run();
  return out;
}

std::vector<std::vector<LabelScore>> MlmPromptScorer::score(const std::vector<std::string>& texts) const {
  return score_labels(texts, every_label(texts.size(), label_tokens_.size()));
}

std::vector<std::vector<LabelScore>> MlmPromptScorer::score_labels(
    const std::vector<std::string>& texts, const std::vector<std::vector<size_t>>& labels) const {
  std::vector<std::vector<Token>> tokens;
  tokens.reserve(texts.size());
  for (const std::string& text : texts) tokens.push_back(tokenizer_.tokenize(text));
  const auto values = log_probs(tokens, labels);
  std::vector<std::vector<LabelScore>> out(texts.size());
  for (size_t x = 0; x < texts.size(); ++x)
    for (size_t k : labels[x]) {
      LabelScore& s = out[x].emplace_back();
      s.template_log_probs = values[x][k];
      finish_label_score(s, settings_.combine, settings_.calibrate ? empty_text_[k] : std::vector<double>{});
    }
  return out;
}

}  // namespace nspbert::zero_shot
