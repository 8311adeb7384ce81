#pragma once
// The scorer a task spec asks for, built on one encoder: TaskRunner builds it on the model, the
// cascade (cascade.h) a second one on the model's f32 copy. Exactly one member is set.
#include <memory>

#include "engine/batch_runner.h"
#include "engine/encoder.h"
#include "models/zero_shot/label_scores.h"
#include "models/zero_shot/nsp_scorer.h"
#include "models/zero_shot/task_spec.h"
#include "tokenizer/tokenizer.h"

namespace nspbert::zero_shot {

struct TaskScorers {
  std::unique_ptr<PromptScorer> prompt;   // candidates-contrast over fixed labels (NSP or MLM)
  std::unique_ptr<NspPairScorer> pair;    // samples-contrast
  std::unique_ptr<NspClozeScorer> cloze;  // candidates from each line (ChID)
};

// Fails (usage/model) when the task cannot run on this encoder; with calibration, the empty-text
// scores are computed here, on this encoder.
TaskScorers make_task_scorers(const TaskSpec& spec, const Encoder& encoder, const Tokenizer& tokenizer,
                              const BatchPlan& plan);

}  // namespace nspbert::zero_shot
