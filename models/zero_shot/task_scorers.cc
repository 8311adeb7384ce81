#include "models/zero_shot/task_scorers.h"

#include <string>
#include <vector>

#include "models/zero_shot/mlm_scorer.h"

namespace nspbert::zero_shot {

TaskScorers make_task_scorers(const TaskSpec& spec, const Encoder& encoder, const Tokenizer& tokenizer,
                              const BatchPlan& plan) {
  TaskScorers s;
  NspSettings nsp{spec.max_length, spec.position, spec.combine, spec.calibrate, plan};
  if (spec.strategy == Strategy::SamplesContrast) {
    s.pair = std::make_unique<NspPairScorer>(encoder, tokenizer, nsp);
  } else if (spec.candidates) {
    s.cloze =
        std::make_unique<NspClozeScorer>(encoder, tokenizer, spec.templates, spec.candidates->soft_positions, nsp);
  } else {
    std::vector<std::string> words;
    for (const Label& label : spec.labels) words.push_back(label.word);
    if (spec.scorer == ScorerKind::Nsp) {
      s.prompt = std::make_unique<NspCandidatesScorer>(encoder, tokenizer, spec.templates, std::move(words), nsp);
    } else {
      MlmSettings mlm{spec.max_length, spec.position, spec.combine, spec.calibrate, plan};
      s.prompt = std::make_unique<MlmPromptScorer>(encoder, tokenizer, spec.templates, std::move(words), mlm);
    }
  }
  return s;
}

}  // namespace nspbert::zero_shot
