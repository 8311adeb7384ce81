#include "models/zero_shot/task_spec.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"

namespace nspbert::zero_shot {

using io::LineError;

using nlohmann::json;

const char* strategy_name(Strategy s) {
  return s == Strategy::CandidatesContrast ? "candidates-contrast" : "samples-contrast";
}
const char* position_name(PromptPosition p) { return p == PromptPosition::Prefix ? "prefix" : "suffix"; }
const char* combine_name(Combine c) { return c == Combine::Mean ? "mean" : "logsumexp"; }
const char* scorer_name(ScorerKind s) { return s == ScorerKind::Nsp ? "nsp" : "mlm"; }

PromptPosition parse_position(const std::string& text) {
  if (text == "prefix") return PromptPosition::Prefix;
  if (text == "suffix") return PromptPosition::Suffix;
  fail_usage("position '" + text + "' is not prefix or suffix");
}

Combine parse_combine(const std::string& text) {
  if (text == "mean") return Combine::Mean;
  if (text == "logsumexp") return Combine::LogSumExp;
  fail_usage("template combination '" + text + "' is not mean or logsumexp");
}

ScorerKind parse_scorer(const std::string& text) {
  if (text == "nsp") return ScorerKind::Nsp;
  if (text == "mlm") return ScorerKind::Mlm;
  fail_usage("scorer '" + text + "' is not nsp or mlm");
}

FieldTemplate FieldTemplate::parse(const std::string& pattern, const std::string& where) {
  FieldTemplate t;
  t.pattern_ = pattern;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.pieces_.push_back({false, literal, {}});
    literal.clear();
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if ((c == '{' || c == '}') && i + 1 < pattern.size() && pattern[i + 1] == c) {
      literal.push_back(c);
      ++i;
      continue;
    }
    if (c == '}') fail_input(where + ": unmatched '}' in \"" + pattern + "\" (write '}}' for a literal brace)");
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    const size_t close = pattern.find('}', i + 1);
    if (close == std::string::npos) fail_input(where + ": unclosed '{' in \"" + pattern + "\"");
    const std::string name = pattern.substr(i + 1, close - i - 1);
    if (name.empty()) fail_input(where + ": empty field slot {} in \"" + pattern + "\"");
    Piece piece{true, name, {}};
    size_t start = 0;
    while (true) {
      const size_t dot = name.find('.', start);
      const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty()) fail_input(where + ": field slot {" + name + "} has an empty path component");
      piece.path.push_back(part);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    flush();
    t.pieces_.push_back(std::move(piece));
    i = close;
  }
  flush();
  return t;
}

std::string FieldTemplate::render(const json& line, const std::string& join) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    if (!piece.is_field) {
      out += piece.text;
      continue;
    }
    const json* value = &line;
    for (const std::string& part : piece.path) {
      if (!value->is_object() || !value->contains(part)) throw LineError("missing field '" + piece.text + "'");
      value = &(*value)[part];
    }
    if (value->is_string()) {
      out += value->get_ref<const std::string&>();
    } else if (value->is_array()) {
      for (size_t i = 0; i < value->size(); ++i) {
        if (!(*value)[i].is_string())
          throw LineError("field '" + piece.text + "' item " + std::to_string(i) + " is not a string");
        if (i) out += join;
        out += (*value)[i].get_ref<const std::string&>();
      }
    } else {
      throw LineError("field '" + piece.text + "' is not a string (it is " + std::string(value->type_name()) + ")");
    }
  }
  return out;
}

std::optional<std::string> label_key(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return std::nullopt;
}

Label make_label(std::string word, json id) {
  Label label;
  label.word = std::move(word);
  label.id = id.is_null() ? json(label.word) : std::move(id);
  label.key = label_key(label.id).value_or("");
  return label;
}

void check_prompt_template(const std::string& prompt_template) {
  if (prompt_template.empty())
    fail_usage("the template is empty; it needs a {label} slot, e.g. \"这是一则{label}新闻\"");
  if (prompt_template.find("{label}") == std::string::npos)
    fail_usage("the template \"" + prompt_template + "\" has no {label} slot");
}

std::string fill_prompt(const std::string& prompt_template, const std::string& label_word) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t at = prompt_template.find("{label}", start);
    out.append(prompt_template, start, at == std::string::npos ? std::string::npos : at - start);
    if (at == std::string::npos) return out;
    out += label_word;
    start = at + 7;
  }
}

void check_labels(const std::vector<Label>& labels) {
  if (labels.empty()) fail_usage("no labels: give --labels a,b,... or --labels-file FILE (or 'labels' in the task)");
  std::set<std::string> words, keys;
  for (const Label& label : labels) {
    if (label.word.empty()) fail_usage("a label is empty");
    if (label.key.empty()) fail_usage("label '" + label.word + "' has an id that is not a string or an integer");
    if (!words.insert(label.word).second) fail_usage("label '" + label.word + "' appears twice");
    if (!keys.insert(label.key).second) fail_usage("label id '" + label.key + "' appears twice");
  }
}

void check_task(const TaskSpec& spec) {
  const std::string task = spec.name.empty() ? "the task" : "task '" + spec.name + "'";
  if (spec.max_length < 3)
    fail_usage(task + ": max length " + std::to_string(spec.max_length) + " cannot hold [CLS] A [SEP] B [SEP]");
  if (spec.strategy == Strategy::SamplesContrast) {
    if (spec.scorer != ScorerKind::Nsp)
      fail_usage(task + ": samples-contrast scores sentence pairs with the NSP head; the MLM scorer needs prompts");
    if (spec.calibrate) fail_usage(task + ": calibration applies to candidates-contrast prompts, not samples-contrast");
    if (spec.candidates) fail_usage(task + ": samples-contrast cannot take candidates from each line");
    if (spec.labels.size() < 2)
      fail_usage(task + ": samples-contrast needs at least two labels, in ascending score order");
    if (spec.segment_a.empty() || spec.segment_b.empty())
      fail_usage(task + ": samples-contrast needs segment_a and segment_b");
    check_labels(spec.labels);
    return;
  }
  if (spec.templates.empty()) fail_usage(task + ": no templates");
  for (const std::string& t : spec.templates) check_prompt_template(t);
  if (spec.text.empty()) fail_usage(task + ": candidates-contrast needs 'text' (which field(s) hold the text)");
  if (spec.candidates) {
    if (spec.scorer != ScorerKind::Nsp)
      fail_usage(task + ": candidates from each line (ChID) are scored with the NSP head only");
    if (!spec.labels.empty()) fail_usage(task + ": a task with candidates per line has no fixed labels");
    if (spec.position != PromptPosition::Prefix) fail_usage(task + ": the candidate is segment A (position prefix)");
    return;
  }
  check_labels(spec.labels);
}

namespace {

std::string field_name(const std::string& source, const std::string& field) { return source + ": '" + field + "'"; }

const std::string& string_value(const json& spec, const std::string& key, const std::string& source) {
  if (!spec[key].is_string()) fail_input(field_name(source, key) + " must be a string");
  return spec[key].get_ref<const std::string&>();
}

std::vector<Label> parse_labels(const json& value, const std::string& source) {
  if (!value.is_array()) fail_input(field_name(source, "labels") + " must be an array");
  std::vector<Label> labels;
  for (size_t i = 0; i < value.size(); ++i) {
    const json& entry = value[i];
    const std::string where = field_name(source, "labels[" + std::to_string(i) + "]");
    if (entry.is_string()) {
      labels.push_back(make_label(entry.get<std::string>(), nullptr));
      continue;
    }
    if (!entry.is_object()) fail_input(where + " must be a string or {\"word\": ..., \"id\": ...}");
    for (const auto& [k, v] : entry.items())
      if (k != "word" && k != "id") fail_input(where + ": unknown field '" + k + "' (known: word, id)");
    if (!entry.contains("word") && !entry.contains("id")) fail_input(where + " needs 'word' or 'id'");
    json id = entry.contains("id") ? entry["id"] : json(nullptr);
    if (!id.is_null() && !label_key(id)) fail_input(where + ": 'id' must be a string, an integer or a boolean");
    std::string word;
    if (entry.contains("word")) {
      if (!entry["word"].is_string()) fail_input(where + ": 'word' must be a string");
      word = entry["word"].get<std::string>();
    } else {
      word = *label_key(id);
    }
    labels.push_back(make_label(std::move(word), std::move(id)));
  }
  return labels;
}

// "templates": one string or a non-empty array of strings, each with a {label} slot.
std::vector<std::string> parse_templates(const json& templates, const std::string& source) {
  std::vector<std::string> out;
  if (templates.is_string()) {
    out.push_back(templates.get<std::string>());
  } else if (templates.is_array() && !templates.empty()) {
    for (size_t i = 0; i < templates.size(); ++i) {
      if (!templates[i].is_string())
        fail_input(field_name(source, "templates[" + std::to_string(i) + "]") + " must be a string");
      out.push_back(templates[i].get<std::string>());
    }
  } else {
    fail_input(field_name(source, "templates") + " must be a string or a non-empty array of strings");
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].find("{label}") == std::string::npos)
      fail_input(field_name(source, "templates[" + std::to_string(i) + "]") + " \"" + out[i] +
                 "\" has no {label} slot");
  return out;
}

// "candidates": {"field", "blank", "soft_positions"} of a cloze task.
LineCandidates parse_candidates(const json& c, const std::string& source) {
  const std::string where = field_name(source, "candidates");
  if (!c.is_object()) fail_input(where + " must be an object {\"field\", \"blank\", \"soft_positions\"}");
  for (const auto& [k, v] : c.items())
    if (k != "field" && k != "blank" && k != "soft_positions")
      fail_input(where + ": unknown field '" + k + "' (known: field, blank, soft_positions)");
  LineCandidates lc;
  if (!c.contains("field") || !c["field"].is_string()) fail_input(where + ": 'field' must be a string");
  if (!c.contains("blank") || !c["blank"].is_string() || c["blank"].get<std::string>().empty())
    fail_input(where + ": 'blank' must be a non-empty string (the marker in the text, e.g. #idiom#)");
  lc.field = c["field"].get<std::string>();
  lc.blank = c["blank"].get<std::string>();
  if (c.contains("soft_positions")) {
    if (!c["soft_positions"].is_boolean()) fail_input(where + ": 'soft_positions' must be true or false");
    lc.soft_positions = c["soft_positions"].get<bool>();
  }
  return lc;
}

// "paper": {"accuracy": percent, "source": text}, the figure eval prints beside its own.
void parse_paper(const json& p, const std::string& source, TaskSpec& t) {
  const std::string where = field_name(source, "paper");
  if (!p.is_object()) fail_input(where + " must be an object {\"accuracy\": percent, \"source\": text}");
  for (const auto& [k, v] : p.items())
    if (k != "accuracy" && k != "source") fail_input(where + ": unknown field '" + k + "' (known: accuracy, source)");
  if (!p.contains("accuracy") || !p["accuracy"].is_number())
    fail_input(where + ": 'accuracy' must be a number (percent)");
  t.paper_accuracy = p["accuracy"].get<double>();
  if (p.contains("source")) {
    if (!p["source"].is_string()) fail_input(where + ": 'source' must be a string");
    t.paper_source = p["source"].get<std::string>();
  }
}

}  // namespace

TaskSpec parse_task_spec(const json& spec, const std::string& source) {
  if (!spec.is_object()) fail_input(source + ": a task spec must be a JSON object");
  static const std::set<std::string> known = {"name",      "description", "strategy",  "scorer", "position",
                                              "templates", "combine",     "calibrate", "labels", "candidates",
                                              "text",      "segment_a",   "segment_b", "join",   "label_field",
                                              "id_field",  "max_length",  "paper"};
  for (const auto& [key, value] : spec.items())
    if (!known.count(key)) fail_input(source + ": unknown field '" + key + "'");

  TaskSpec t;
  auto has = [&](const char* key) { return spec.contains(key) && !spec[key].is_null(); };
  if (has("name")) t.name = string_value(spec, "name", source);
  if (has("description")) t.description = string_value(spec, "description", source);
  if (!has("strategy"))
    fail_input(field_name(source, "strategy") + " is missing (candidates-contrast or samples-contrast)");
  const std::string strategy = string_value(spec, "strategy", source);
  if (strategy == "candidates-contrast") {
    t.strategy = Strategy::CandidatesContrast;
  } else if (strategy == "samples-contrast") {
    t.strategy = Strategy::SamplesContrast;
  } else {
    fail_input(field_name(source, "strategy") + " is '" + strategy + "', not candidates-contrast or samples-contrast");
  }
  auto enum_field = [&](const char* key, auto parse) {
    try {
      return parse(string_value(spec, key, source));
    } catch (const Error& e) {
      fail_input(field_name(source, key) + ": " + e.what());
    }
  };
  if (has("scorer")) t.scorer = enum_field("scorer", parse_scorer);
  if (has("position")) t.position = enum_field("position", parse_position);
  if (has("combine")) t.combine = enum_field("combine", parse_combine);
  if (has("calibrate")) {
    if (!spec["calibrate"].is_boolean()) fail_input(field_name(source, "calibrate") + " must be true or false");
    t.calibrate = spec["calibrate"].get<bool>();
  }
  if (has("templates")) t.templates = parse_templates(spec["templates"], source);
  if (has("labels")) t.labels = parse_labels(spec["labels"], source);
  if (has("candidates")) t.candidates = parse_candidates(spec["candidates"], source);
  if (has("text")) t.text = FieldTemplate::parse(string_value(spec, "text", source), field_name(source, "text"));
  if (has("segment_a"))
    t.segment_a = FieldTemplate::parse(string_value(spec, "segment_a", source), field_name(source, "segment_a"));
  if (has("segment_b"))
    t.segment_b = FieldTemplate::parse(string_value(spec, "segment_b", source), field_name(source, "segment_b"));
  if (has("join")) t.join = string_value(spec, "join", source);
  if (has("label_field")) t.label_field = string_value(spec, "label_field", source);
  if (has("id_field")) t.id_field = string_value(spec, "id_field", source);
  if (has("max_length")) {
    const json& m = spec["max_length"];
    if (!m.is_number_integer() || m.get<int64_t>() < 3 || m.get<int64_t>() > (1 << 20))
      fail_input(field_name(source, "max_length") + " must be an integer from 3 to 1048576");
    t.max_length = m.get<size_t>();
  }
  if (has("paper")) parse_paper(spec["paper"], source, t);
  try {
    check_task(t);
  } catch (const Error& e) {
    fail_input(source + ": " + e.what());
  }
  return t;
}

TaskSpec load_task_spec(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) fail_input(file.string() + ": is a directory, not a task spec");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_input(file.string() + ": cannot open the task spec");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const json spec = json::parse(text, nullptr, false);
  if (spec.is_discarded()) fail_input(file.string() + ": the task spec is not valid JSON");
  TaskSpec t = parse_task_spec(spec, file.string());
  if (t.name.empty()) t.name = file.stem().string();
  return t;
}

}  // namespace nspbert::zero_shot
