#include "models/zero_shot/nsp_scorer.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"
#include "engine/ops/softmax.h"

namespace nspbert::zero_shot {

using io::LineError;

void check_nsp_model(const Encoder& encoder, size_t max_length) {
  const EncoderSpec& spec = encoder.spec();
  if (max_length < 3) fail_usage("max length " + std::to_string(max_length) + " cannot hold [CLS] A [SEP] B [SEP]");
  if (spec.position_kind == PositionKind::Absolute && static_cast<int64_t>(max_length) > spec.max_positions)
    fail_usage("max length " + std::to_string(max_length) +
               " exceeds the model's position table (max_position_embeddings " + std::to_string(spec.max_positions) +
               ")");
  if (!encoder.heads().nsp)
    fail_model(
        "this checkpoint has no NSP head (cls.seq_relationship); use --scorer mlm for prompt scoring with its MLM "
        "head");
}

Sequence pair_sequence(const Tokenizer& tok, std::vector<Token> a, std::vector<Token> b, size_t max_length) {
  Encoding e = encode_tokens(tok, std::move(a), std::move(b), max_length, Truncation::NspReference);
  Sequence s;
  s.ids = std::move(e.ids);
  s.type_ids = std::move(e.type_ids);
  return s;
}

std::vector<PairScore> score_pairs(const Encoder& encoder, const std::vector<Sequence>& sequences, BatchPlan plan) {
  plan.nsp = true;
  const std::vector<SequenceOutputs> outputs = run_sequences(encoder, sequences, plan);
  std::vector<PairScore> scores(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const float l0 = outputs[i].nsp_logits[0], l1 = outputs[i].nsp_logits[1];
    scores[i] = {prob_is_next(l0, l1), static_cast<double>(l0) - static_cast<double>(l1)};
  }
  return scores;
}

NspCandidatesScorer::NspCandidatesScorer(const Encoder& encoder, const Tokenizer& tokenizer,
                                         std::vector<std::string> templates, std::vector<std::string> label_words,
                                         NspSettings settings)
    : encoder_(encoder), tokenizer_(tokenizer), settings_(std::move(settings)), label_count_(label_words.size()) {
  check_nsp_model(encoder, settings_.max_length);
  if (templates.empty()) fail_usage("no templates");
  if (label_words.empty()) fail_usage("no labels");
  for (const std::string& t : templates) {
    check_prompt_template(t);
    std::vector<std::vector<Token>> per_label;
    for (const std::string& word : label_words) per_label.push_back(tokenizer.tokenize(fill_prompt(t, word)));
    prompts_.push_back(std::move(per_label));
  }
  if (!settings_.calibrate) return;
  std::vector<Sequence> sequences;
  for (size_t k = 0; k < label_count_; ++k)
    for (size_t t = 0; t < prompts_.size(); ++t) sequences.push_back(sequence(prompts_[t][k], {}));
  const std::vector<PairScore> scores = score_pairs(encoder_, sequences, settings_.plan);
  empty_text_.assign(label_count_, std::vector<double>(prompts_.size()));
  for (size_t k = 0, i = 0; k < label_count_; ++k)
    for (size_t t = 0; t < prompts_.size(); ++t) empty_text_[k][t] = log_sigmoid(scores[i++].logit_gap);
}

Sequence NspCandidatesScorer::sequence(const std::vector<Token>& prompt, const std::vector<Token>& text) const {
  return settings_.position == PromptPosition::Prefix ? pair_sequence(tokenizer_, prompt, text, settings_.max_length)
                                                      : pair_sequence(tokenizer_, text, prompt, settings_.max_length);
}

std::vector<std::vector<LabelScore>> NspCandidatesScorer::score(const std::vector<std::string>& texts) const {
  return score_labels(texts, every_label(texts.size(), label_count_));
}

std::vector<std::vector<LabelScore>> NspCandidatesScorer::score_labels(
    const std::vector<std::string>& texts, const std::vector<std::vector<size_t>>& labels) const {
  const size_t T = prompts_.size();
  std::vector<Sequence> sequences;
  for (size_t x = 0; x < texts.size(); ++x) {
    std::vector<Token> tokens = tokenizer_.tokenize(texts[x]);  // once per line, shared by every prompt
    // Truncation only ever keeps a prefix of at most max_length - 3 tokens: drop the rest once
    // rather than copying it for every label.
    if (tokens.size() > settings_.max_length - 3) tokens.resize(settings_.max_length - 3);
    for (size_t k : labels[x]) {
      if (k >= label_count_) fail_usage("label index " + std::to_string(k) + " out of range");
      for (size_t t = 0; t < T; ++t) sequences.push_back(sequence(prompts_[t][k], tokens));
    }
  }
  const std::vector<PairScore> pairs = score_pairs(encoder_, sequences, settings_.plan);
  std::vector<std::vector<LabelScore>> out(texts.size());
  size_t i = 0;
  for (size_t x = 0; x < texts.size(); ++x)
    for (size_t k : labels[x]) {
      LabelScore& s = out[x].emplace_back();
      for (size_t t = 0; t < T; ++t, ++i) {
        s.template_logit_gaps.push_back(pairs[i].logit_gap);
        s.template_log_probs.push_back(log_sigmoid(pairs[i].logit_gap));
      }
      finish_label_score(s, settings_.combine, settings_.calibrate ? empty_text_[k] : std::vector<double>{});
    }
  return out;
}

NspPairScorer::NspPairScorer(const Encoder& encoder, const Tokenizer& tokenizer, NspSettings settings)
    : encoder_(encoder), tokenizer_(tokenizer), settings_(std::move(settings)) {
  check_nsp_model(encoder, settings_.max_length);
}

std::vector<PairScore> NspPairScorer::score(const std::vector<std::pair<std::string, std::string>>& pairs) const {
  std::vector<Sequence> sequences;
  sequences.reserve(pairs.size());
  for (const auto& [a, b] : pairs)
    sequences.push_back(
        pair_sequence(tokenizer_, tokenizer_.tokenize(a), tokenizer_.tokenize(b), settings_.max_length));
  return score_pairs(encoder_, sequences, settings_.plan);
}

std::pair<std::string, std::string> split_at_blank(const std::string& text, const std::string& blank) {
  const size_t at = text.find(blank);
  if (at == std::string::npos) throw LineError("the text has no blank marker '" + blank + "'");
  if (text.find(blank, at + blank.size()) != std::string::npos)
    throw LineError("the text has more than one blank marker '" + blank + "'");
  return {text.substr(0, at), text.substr(at + blank.size())};
}

Sequence cloze_sequence(const Tokenizer& tok, std::vector<Token> prompt, const std::vector<Token>& left,
                        const std::vector<Token>& right, size_t max_length, bool soft_positions) {
  if (max_length < 3) fail_usage("max length " + std::to_string(max_length) + " cannot hold [CLS] A [SEP] B [SEP]");
  const size_t budget = max_length - 3;
  if (prompt.size() > budget) prompt.resize(budget);
  const size_t passage_budget = budget - prompt.size();
  // A window around the blank: the context next to it is what decides the idiom.
  size_t keep_left = left.size(), keep_right = right.size();
  if (keep_left + keep_right > passage_budget) {
    keep_left =
        std::min(left.size(), std::max(passage_budget / 2, passage_budget - std::min(right.size(), passage_budget)));
    keep_right = std::min(right.size(), passage_budget - keep_left);
  }
  const size_t l = keep_left, m = prompt.size(), r = keep_right;
  std::vector<Token> passage(left.end() - static_cast<std::ptrdiff_t>(l), left.end());
  passage.insert(passage.end(), right.begin(), right.begin() + static_cast<std::ptrdiff_t>(r));
  Encoding e = encode_tokens(tok, std::move(prompt), std::move(passage), max_length, Truncation::NspReference);
  Sequence s;
  s.ids = std::move(e.ids);
  s.type_ids = std::move(e.type_ids);
  if (!soft_positions) return s;
  // Token order: [CLS] prompt(m) [SEP] left(l) right(r) [SEP].
  // Positions:   0, l+1..l+m, l+m+r+1, 1..l, l+m+1..l+m+r, l+m+r+2.
  s.position_ids.reserve(s.ids.size());
  s.position_ids.push_back(0);
  for (size_t i = 0; i < m; ++i) s.position_ids.push_back(static_cast<int64_t>(l + 1 + i));
  s.position_ids.push_back(static_cast<int64_t>(l + m + r + 1));
  for (size_t i = 0; i < l; ++i) s.position_ids.push_back(static_cast<int64_t>(1 + i));
  for (size_t i = 0; i < r; ++i) s.position_ids.push_back(static_cast<int64_t>(l + m + 1 + i));
  s.position_ids.push_back(static_cast<int64_t>(l + m + r + 2));
  return s;
}

NspClozeScorer::NspClozeScorer(const Encoder& encoder, const Tokenizer& tokenizer, std::vector<std::string> templates,
                               bool soft_positions, NspSettings settings)
    : encoder_(encoder),
      tokenizer_(tokenizer),
      templates_(std::move(templates)),
      soft_positions_(soft_positions),
      settings_(std::move(settings)) {
  check_nsp_model(encoder, settings_.max_length);
  if (templates_.empty()) fail_usage("no templates");
  for (const std::string& t : templates_) check_prompt_template(t);
}

std::vector<std::vector<LabelScore>> NspClozeScorer::score(const std::vector<ClozeItem>& items) const {
  const size_t T = templates_.size();
  std::vector<Sequence> sequences;
  for (const ClozeItem& item : items) {
    const std::vector<Token> left = tokenizer_.tokenize(item.left), right = tokenizer_.tokenize(item.right);
    for (const std::string& candidate : item.candidates)
      for (const std::string& t : templates_) {
        std::vector<Token> prompt = tokenizer_.tokenize(fill_prompt(t, candidate));
        if (settings_.calibrate)
          sequences.push_back(cloze_sequence(tokenizer_, prompt, {}, {}, settings_.max_length, soft_positions_));
        sequences.push_back(
            cloze_sequence(tokenizer_, std::move(prompt), left, right, settings_.max_length, soft_positions_));
      }
  }
  const std::vector<PairScore> pairs = score_pairs(encoder_, sequences, settings_.plan);
  std::vector<std::vector<LabelScore>> out;
  size_t i = 0;
  for (const ClozeItem& item : items) {
    std::vector<LabelScore> per_item(item.candidates.size());
    for (LabelScore& s : per_item) {
      std::vector<double> empty_text;
      for (size_t t = 0; t < T; ++t) {
        if (settings_.calibrate) empty_text.push_back(log_sigmoid(pairs[i++].logit_gap));
        s.template_logit_gaps.push_back(pairs[i].logit_gap);
        s.template_log_probs.push_back(log_sigmoid(pairs[i++].logit_gap));
      }
      finish_label_score(s, settings_.combine, empty_text);
    }
    out.push_back(std::move(per_item));
  }
  return out;
}

}  // namespace nspbert::zero_shot
