// nspbert classify: NSP-BERT zero-shot classification of texts against a prompt template and a
// label list (docs/design.md, "Conformance"). Texts come from arguments, standard input or --input JSONL.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/error.h"
#include "engine/io/byte_order_mark.h"
#include "models/zero_shot/text_table.h"
#include "tools/cli/command.h"
#include "tools/cli/zero_shot_options.h"

namespace nspbert::cli {
namespace {

using namespace zero_shot;

struct ClassifyArgs {
  ScoringOptions scoring;
  std::string labels;
  std::string labels_file;
  StreamOptions stream{256};
  std::string text_field = "text";
};

std::string trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

std::vector<std::string> read_labels(const ClassifyArgs& args) {
  std::vector<std::string> words;
  if (!args.labels_file.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(args.labels_file, ec))
      fail_input(args.labels_file + ": is a directory, not a labels file");
    std::ifstream in(args.labels_file, std::ios::binary);
    if (!in) fail_input(args.labels_file + ": cannot open the labels file");
    bool first = true;
    for (std::string line; std::getline(in, line); first = false) {
      if (first) io::strip_byte_order_mark(line);
      if (!trimmed(line).empty()) words.push_back(trimmed(line));
    }
    if (words.empty()) fail_usage(args.labels_file + ": the labels file has no labels (one per line)");
  } else {
    // A Chinese keyboard types the full-width comma: it separates labels too.
    std::string list_text = args.labels;
    for (size_t at; (at = list_text.find("，")) != std::string::npos;) list_text.replace(at, 3, ",");
    std::stringstream list(list_text);
    for (std::string word; std::getline(list, word, ',');) words.push_back(trimmed(word));
    if (!list_text.empty() && list_text.back() == ',') words.push_back("");
  }
  if (words.size() == 1)
    std::fprintf(stderr, "nspbert: warning: one label only ('%s'): every text gets it; separate labels with commas\n",
                 words[0].c_str());
  return words;
}

TaskSpec classify_args_task(const ClassifyArgs& args) {
  TaskSpec spec = classify_task(read_labels(args), args.text_field);
  args.scoring.apply_to(spec);
  return spec;
}

// A streamed table: fixed columns so rows can be printed as they are scored.
class TableRows {
 public:
  explicit TableRows(const TaskSpec& spec) {
    for (const Label& l : spec.labels) label_width_ = std::max(label_width_, display_width(l.word));
    value_name_ = spec.calibrate ? "score" : spec.scorer == ScorerKind::Nsp ? "P(IsNext)" : "log-prob";
    nsp_ = spec.scorer == ScorerKind::Nsp && !spec.calibrate;
    words_.reserve(spec.labels.size());
    for (const Label& l : spec.labels) words_.push_back(l.word);
  }
  std::string header() const {
    return pad_to_width("line", 6) + pad_to_width("label", label_width_ + 2) + pad_to_width(value_name_, 11) +
           pad_to_width("runner-up", std::max<size_t>(label_width_, 9) + 2) + pad_to_width(value_name_, 11) + "text";
  }
  std::string row(const LineResult& r) const {
    std::string out = pad_to_width(std::to_string(r.line), 6);
    if (!r.error.empty()) return out + "error: " + r.error;
    const std::vector<size_t> best = ranked_labels(r, 2);
    out += pad_to_width(words_[best[0]], label_width_ + 2) + pad_to_width(value(r.scores[best[0]]), 11);
    const std::string second = best.size() > 1 ? words_[best[1]] : "-";
    out += pad_to_width(second, std::max<size_t>(label_width_, 9) + 2);
    out += pad_to_width(best.size() > 1 ? value(r.scores[best[1]]) : "-", 11);
    return out + clip_to_width(r.text, 60);
  }

 private:
  std::string value(const LabelScore& s) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", nsp_ ? std::exp(s.log_prob) : s.score);
    return buf;
  }
  size_t label_width_ = 5;
  std::string value_name_;
  bool nsp_ = true;
  std::vector<std::string> words_;
};

int run(const ClassifyArgs& args) {
  const std::unique_ptr<JsonlReader> reader = args.stream.open(args.text_field);
  const TaskSpec spec = classify_args_task(args);
  args.scoring.check_cascade(spec, /*has_cut_points=*/false);
  const Model model = args.scoring.model.load();
  const TaskRunner runner(spec, model, args.scoring.runner_options(model, /*echo_text=*/true));
  int code = 0;
  if (args.stream.format == Format::Table) {
    const TableRows table(spec);
    code = run_scoring_stream(
        runner, args.stream, *reader, [&](const LineResult& r) { return table.row(r); }, table.header());
  } else {
    code = run_scoring_stream(runner, args.stream, *reader, [&](const LineResult& r) { return runner.to_line(r); });
  }
  ScoringOptions::report_cascade(runner);
  return code;
}

void declare(CLI::App& app, ClassifyArgs& args) {
  args.scoring.add_to(app, /*with_prompt_flags=*/false);
  app.add_option("--template", args.scoring.templates,
                 "Prompt template with {label}, e.g. 这是一则{label}新闻 (repeat to combine several)")
      ->required()
      ->allow_extra_args(false);
  auto* labels = app.add_option("--labels", args.labels, "Labels as a comma list: 体育,财经,...");
  auto* file = app.add_option("--labels-file", args.labels_file, "Labels, one per line");
  labels->excludes(file);
  app.add_option("--position", args.scoring.position, "prefix: the prompt is segment A; suffix: segment B")
      ->check(CLI::IsMember({"prefix", "suffix"}))
      ->default_str("prefix");
  add_format_option(app, args.stream.format, {Format::Table, Format::Json, Format::Jsonl},
                    "table, json (one array) or jsonl (one object per line)");
  args.stream.add_to(app, /*positional_texts=*/true);
  app.add_option("--field", args.text_field, "Field of each JSONL line that holds the text")->capture_default_str();
  app.add_option("--text-field", args.text_field)->group("");  // the old name, kept for one release
}

const bool registered = register_command<ClassifyArgs>(
    "classify", "NSP-BERT zero-shot classification: score a prompt per label against each text", declare, run);

}  // namespace
}  // namespace nspbert::cli
