#pragma once
// A zero-shot task described in JSON (tools/tasks/*.json): which strategy, which prompts, which
// labels (the word put into the prompt and the id the data uses), and which JSONL fields hold the
// text(s), the gold label and the line id. Parsing fails naming the field at fault.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nspbert::zero_shot {

enum class Strategy {
  CandidatesContrast,  // one prompt per label against the text, argmax (docs/methods.md §1 C-C)
  SamplesContrast,     // one pair score per line, labels by thresholds or equal-size bins (S-C)
};
enum class PromptPosition { Prefix, Suffix };  // the prompt is segment A (prefix) or B (suffix)
enum class Combine { Mean, LogSumExp };        // how several templates' log-probabilities merge
enum class ScorerKind { Nsp, Mlm };

const char* strategy_name(Strategy s);
const char* position_name(PromptPosition p);
const char* combine_name(Combine c);
const char* scorer_name(ScorerKind s);
PromptPosition parse_position(const std::string& text);  // usage error naming the value
Combine parse_combine(const std::string& text);
ScorerKind parse_scorer(const std::string& text);

// Literal text with {field} or {field.sub} slots filled from a JSONL object, e.g.
// "{text}上文中{target.span2_text}是指". "{{" and "}}" are literal braces. A slot holding an array
// of strings is joined with the task's separator; any other non-string value is a line error.
class FieldTemplate {
 public:
  FieldTemplate() = default;
  static FieldTemplate parse(const std::string& pattern, const std::string& where);
  std::string render(const nlohmann::json& line, const std::string& join) const;  // throws LineError
  const std::string& pattern() const { return pattern_; }
  bool empty() const { return pieces_.empty(); }

 private:
  struct Piece {
    bool is_field = false;
    std::string text;               // literal text, or the dotted field name
    std::vector<std::string> path;  // the field name split at dots
  };
  std::vector<Piece> pieces_;
  std::string pattern_;
};

struct Label {
  std::string word;   // what replaces {label} in the prompt
  nlohmann::json id;  // the gold value in the data (string or integer), echoed in outputs
  std::string key;    // `id` as text, for matching gold values
};

// The gold value of a line as a label key: strings as they are, integers in decimal, booleans as true/false.
std::optional<std::string> label_key(const nlohmann::json& value);

// ChID-style tasks: the candidates come from each line, and the text has a blank marker.
struct LineCandidates {
  std::string field;           // a JSON array of strings
  std::string blank;           // e.g. "#idiom#", exactly one per text
  bool soft_positions = true;  // place the candidate's tokens where the blank was (nsp_scorer.h)
};

struct TaskSpec {
  std::string name;
  std::string description;
  Strategy strategy = Strategy::CandidatesContrast;
  ScorerKind scorer = ScorerKind::Nsp;
  PromptPosition position = PromptPosition::Prefix;
  std::vector<std::string> templates;  // candidates-contrast: each contains {label}
  Combine combine = Combine::Mean;
  bool calibrate = false;
  std::vector<Label> labels;  // fixed labels; S-C: in ascending score order
  std::optional<LineCandidates> candidates;
  FieldTemplate text;       // candidates-contrast: the text side
  FieldTemplate segment_a;  // samples-contrast
  FieldTemplate segment_b;
  std::string join = "，";  // separator for array-valued fields
  std::string label_field;  // gold label (or candidate index); empty: unlabelled data
  std::string id_field = "id";
  size_t max_length = 128;
  std::optional<double> paper_accuracy;  // percent, the paper's reported zero-shot figure
  std::string paper_source;

  bool has_line_candidates() const { return candidates.has_value(); }
};

// Fails (input error) naming `source` and the field; unknown fields are errors, not ignored.
TaskSpec parse_task_spec(const nlohmann::json& spec, const std::string& source);
TaskSpec load_task_spec(const std::filesystem::path& file);

// Checks a prompt template (usage error): non-empty and containing {label}.
void check_prompt_template(const std::string& prompt_template);
std::string fill_prompt(const std::string& prompt_template, const std::string& label_word);

// Checks a label list (usage error): at least one, none empty, no duplicate words or ids.
void check_labels(const std::vector<Label>& labels);
Label make_label(std::string word, nlohmann::json id);

// Whatever the strategy needs that the spec lacks, as one usage error (e.g. S-C without labels).
void check_task(const TaskSpec& spec);

}  // namespace nspbert::zero_shot
