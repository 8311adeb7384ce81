#include "models/zero_shot/task_overrides.h"

#include "engine/error.h"

namespace nspbert::zero_shot {

void TaskOverrides::apply_to(TaskSpec& spec) const {
  if (!templates.empty()) {
    if (spec.strategy == Strategy::SamplesContrast)
      fail_usage("--template applies to candidates-contrast tasks; '" + spec.name + "' is samples-contrast");
    spec.templates = templates;
  }
  if (!position.empty()) spec.position = parse_position(position);
  if (max_length) spec.max_length = max_length;
  if (!combine.empty()) spec.combine = parse_combine(combine);
  if (calibrate) spec.calibrate = true;
  if (!scorer.empty()) spec.scorer = parse_scorer(scorer);
  if ((top_k || normalize) && spec.strategy == Strategy::SamplesContrast)
    fail_usage("--top-k and --normalize rank labels of candidates-contrast tasks; '" + spec.name +
               "' is samples-contrast");
  check_task(spec);
  check_cascade(cascade, spec, /*has_cut_points=*/true);
}

RunnerOptions TaskOverrides::runner_options(const AttentionOptions& attention, bool echo_text) const {
  RunnerOptions o;
  o.plan.attention = attention;
  o.top_k = top_k;
  o.normalize = normalize;
  o.echo_text = echo_text;
  o.cascade = cascade;
  return o;
}

TaskSpec classify_task(std::vector<std::string> label_words, const std::string& text_field) {
  TaskSpec spec;
  spec.name = "classify";
  spec.strategy = Strategy::CandidatesContrast;
  for (std::string& w : label_words) spec.labels.push_back(make_label(std::move(w), nullptr));
  spec.text = FieldTemplate::parse("{" + text_field + "}", "--text-field");
  spec.id_field = "id";
  return spec;
}

}  // namespace nspbert::zero_shot
