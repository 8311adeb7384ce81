// nspbert._nspbert.Model: the methods behind nspbert.Model (tools/python/nspbert/__init__.py,
// which checks and converts arguments). Each runs the library code its CLI command runs
// (tools/cli/<command>.cc) with the GIL released while the engine works.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/ops/softmax.h"
#include "engine/similarity/sentence_vectors.h"
#include "models/model_info.h"
#include "models/sequence_builder.h"
#include "models/similarity_outputs.h"
#include "models/zero_shot/evaluation.h"
#include "models/zero_shot/task_overrides.h"
#include "models/zero_shot/task_runner.h"
#include "tools/python/src/common.h"

namespace nspbert::python {
namespace {

using namespace zero_shot;

std::unique_ptr<PyModel> load(const std::string& path, int threads, const std::string& precision,
                              const AttentionRequest& attention) {
  LoadOptions options;
  options.threads = threads;
  options.precision = parse_precision(precision);
  auto m = std::make_unique<PyModel>();
  {
    py::gil_scoped_release release;
    m->model = load_model(path, options);
  }
  m->threads = threads;
  m->attention = resolve_attention(attention, m->model.spec);
  return m;
}

template <typename T>
std::vector<T> flat(const py::array_t<T, py::array::c_style>& a) {
  return std::vector<T>(a.data(), a.data() + a.size());
}

// The requested outputs as arrays that take over the engine's buffers.
py::dict output_arrays(const PyModel& m, EncoderOutput out, const ForwardRequest& req,
                       const std::vector<std::string>& outputs) {
  const py::ssize_t B = out.batch, T = out.seq_len, H = out.hidden;
  py::dict result;
  auto wanted = [&](const char* name) { return std::find(outputs.begin(), outputs.end(), name) != outputs.end(); };
  if (req.want_last_hidden) result["last_hidden_state"] = owning_array(std::move(out.last_hidden), {B, T, H});
  if (req.want_pooled) result["pooled"] = owning_array(std::move(out.pooled), {B, H});
  if (wanted("nsp_prob_is_next")) {
    std::vector<float> p(B);
    for (py::ssize_t b = 0; b < B; ++b)
      p[b] = static_cast<float>(prob_is_next(out.nsp_logits[2 * b], out.nsp_logits[2 * b + 1]));
    result["nsp_prob_is_next"] = owning_array(std::move(p), {B});
  }
  if (wanted("nsp_logits")) result["nsp_logits"] = owning_array(std::move(out.nsp_logits), {B, 2});
  if (req.want_classifier)
    result["classifier_logits"] =
        owning_array(std::move(out.classifier_logits), {B, m.model.encoder->classifier_outputs()});
  if (!req.mlm_positions.empty()) {
    const py::ssize_t V = m.model.spec.vocab_size, M = static_cast<py::ssize_t>(req.mlm_positions.size());
    std::vector<float> all;
    all.reserve(M * V);
    for (const auto& row : out.mlm_log_probs) all.insert(all.end(), row.begin(), row.end());
    result["mlm_log_probs"] = owning_array(std::move(all), {M, V});
  }
  if (req.want_stats) {
    const auto per_layer = [](std::vector<double> v) {
      const auto n = static_cast<py::ssize_t>(v.size());
      return owning_array(std::move(v), {n});
    };
    py::dict stats;
    stats["norm"] = per_layer(out.stats.norm());
    stats["relative_update"] = per_layer(out.stats.relative_update());
    stats["cosine_next"] = per_layer(out.stats.cosine_next());
    stats["attention_entropy"] = per_layer(out.stats.attention_entropy());
    result["stream_stats"] = stats;
  }
  return result;
}

// Arrays arrive checked and converted by nspbert.Model.forward: 2-D, C order, int32/uint8/int64.
py::dict forward(const PyModel& m, const py::array_t<int32_t, py::array::c_style>& ids,
                 const std::optional<py::array_t<int32_t, py::array::c_style>>& type_ids,
                 const std::optional<py::array_t<uint8_t, py::array::c_style>>& mask,
                 const std::optional<py::array_t<int64_t, py::array::c_style>>& positions,
                 const std::vector<std::string>& outputs, const std::vector<std::pair<int64_t, int64_t>>& mlm_positions,
                 int64_t window, double logn_base) {
  if (ids.ndim() != 2) fail_input("'input_ids' must be [batch][length]");
  EncoderInput in;
  in.batch = ids.shape(0);
  in.seq_len = ids.shape(1);
  in.ids = flat(ids);
  if (type_ids) in.type_ids = flat(*type_ids);
  if (mask) in.attention_mask = flat(*mask);
  if (positions) in.position_ids = flat(*positions);
  ForwardRequest req;
  req.attention = m.attention;
  if (window > 0) req.attention.window = window;
  if (logn_base > 0) {
    req.attention.logn_base = logn_base;  // as `forward`'s request options: exactly log(n)/log(base)
    req.attention.logn_at_least_one = false;
  }
  for (const std::string& o : outputs) {
    if (o == "last_hidden_state")
      req.want_last_hidden = true;
    else if (o == "pooled")
      req.want_pooled = true;
    else if (o == "nsp_logits" || o == "nsp_prob_is_next")
      req.want_nsp = true;
    else if (o == "classifier_logits")
      req.want_classifier = true;
    else if (o == "stream_stats")
      req.want_stats = true;
    else if (o != "mlm_log_probs")
      fail_usage("unknown output '" + o + "'");
  }
  req.mlm_positions = mlm_positions;
  EncoderOutput out;
  {
    py::gil_scoped_release release;
    m.enter();
    out = m.model.encoder->forward(in, req);
  }
  return output_arrays(m, std::move(out), req, outputs);
}

py::dict tokenize(const PyModel& m, const std::string& a, const std::optional<std::string>& b, size_t max_length,
                  const std::string& truncation, bool special_tokens) {
  if (!m.model.tokenizer) fail_model("this model was loaded without a tokenizer");
  py::dict out;
  if (!special_tokens) {
    if (b) fail_usage("text_b needs special_tokens=True ([CLS] a [SEP] b [SEP])");
    std::vector<Token> tokens = m.model.tokenizer->tokenize(a);
    py::list texts, ids, offsets;
    for (const Token& t : tokens) {
      texts.append(t.text);
      ids.append(t.id);
      offsets.append(py::make_tuple(t.begin, t.end));
    }
    out["tokens"] = texts;
    out["ids"] = ids;
    out["offsets"] = offsets;
    return out;
  }
  const Truncation rule = truncation == "nsp" ? Truncation::NspReference : Truncation::LongestFirst;
  Encoding e = b ? encode(*m.model.tokenizer, a, std::string_view(*b), max_length, rule)
                 : encode(*m.model.tokenizer, a, std::nullopt, max_length, rule);
  out["tokens"] = e.tokens;
  out["ids"] = e.ids;
  out["type_ids"] = e.type_ids;
  py::list offsets;
  for (const auto& [begin, end] : e.offsets) offsets.append(py::make_tuple(begin, end));
  out["offsets"] = offsets;
  out["truncated"] = e.truncated;
  return out;
}

// Records from Python as JSONL items: a str becomes {text_field: str} (as classify's TEXT
// arguments), anything else the line json.dumps writes, parsed as the CLI parses a line, so a
// record the CLI would refuse gets the same {"line", "error"} result. Called with the GIL released.
class RecordSource {
 public:
  RecordSource(py::handle records, std::string text_field)
      : iterator_(py::iter(records)), text_field_(std::move(text_field)) {}

  bool operator()(size_t max_items, std::vector<JsonlItem>& out) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    out.clear();
    while (!done_ && out.size() < max_items) {
      PyObject* next = PyIter_Next(iterator_.ptr());
      if (!next) {
        if (PyErr_Occurred()) throw py::error_already_set();
        done_ = true;
        break;
      }
      out.push_back(item(py::reinterpret_steal<py::object>(next)));
    }
    return !out.empty();
  }

 private:
  JsonlItem item(const py::object& record) {
    static py::handle dumps = py::object(py::module_::import("json").attr("dumps"))
                                  .release();  // never freed: no decref after Python finalised
    ++line_;
    if (!text_field_.empty() && py::isinstance<py::str>(record)) {
      JsonlItem item;
      item.line = line_;
      item.value = nlohmann::json::object({{text_field_, record.cast<std::string>()}});
      return item;
    }
    std::string text;
    try {
      text = py::str(dumps(record, py::arg("ensure_ascii") = false, py::arg("allow_nan") = false));
    } catch (py::error_already_set& e) {
      // Ctrl-C landing inside json.dumps raises KeyboardInterrupt there: it must end the run, not
      // become this record's error (the signal is consumed, and an endless source would go on).
      if (!e.matches(PyExc_Exception)) throw;
      return JsonlItem{line_, nullptr, "not JSON: " + std::string(py::str(e.value())), {}};
    }
    return io::parse_jsonl_line(line_, text);
  }

  py::iterator iterator_;
  std::string text_field_;
  int64_t line_ = 0;
  bool done_ = false;
};

// The keywords classify, score and evaluate share (tools/cli/zero_shot_options.h's flags).
struct Settings {
  TaskOverrides overrides;
  size_t chunk_size = 256;
  std::string text_field;  // classify: where a str record's text goes
};

Settings settings_from(const py::dict& kw) {
  Settings s;
  auto get = [&](const char* key) { return kw.contains(key) ? py::object(kw[key]) : py::none(); };
  if (!get("templates").is_none()) s.overrides.templates = get("templates").cast<std::vector<std::string>>();
  if (!get("max_length").is_none()) s.overrides.max_length = get("max_length").cast<size_t>();
  if (!get("position").is_none()) s.overrides.position = get("position").cast<std::string>();
  if (!get("combine").is_none()) s.overrides.combine = get("combine").cast<std::string>();
  if (!get("scorer").is_none()) s.overrides.scorer = get("scorer").cast<std::string>();
  if (!get("calibrate").is_none()) s.overrides.calibrate = get("calibrate").cast<bool>();
  if (!get("top_k").is_none()) s.overrides.top_k = get("top_k").cast<size_t>();
  if (!get("normalize").is_none()) s.overrides.normalize = get("normalize").cast<bool>();
  if (!get("rescore_top").is_none()) s.overrides.cascade.rescore_top = get("rescore_top").cast<int64_t>();
  if (!get("rescore_margin").is_none()) s.overrides.cascade.rescore_margin = get("rescore_margin").cast<double>();
  if (!get("chunk_size").is_none()) s.chunk_size = get("chunk_size").cast<size_t>();
  if (!get("text_field").is_none()) s.text_field = get("text_field").cast<std::string>();
  return s;
}

// A task, the runner over it, and the source of its lines: what a score/evaluate call holds.
struct Job {
  py::object owner;  // the Python Model: keeps the model alive while an iterator lives
  std::unique_ptr<TaskRunner> runner;
  std::unique_ptr<JsonlReader> file;  // records given as a path
  std::unique_ptr<ResultStream> stream;
};

TaskSpec task_from(py::handle task) {
  if (py::isinstance<py::str>(task)) return load_task_spec(task.cast<std::string>());
  return parse_task_spec(from_python(task, "the task"), "the task dict");
}

void apply_thresholds(TaskRunner& runner, py::handle thresholds, const std::string& fit_on,
                      const std::string& save_thresholds, size_t chunk_size) {
  if ((!thresholds.is_none() || !fit_on.empty()) && !runner.is_samples_contrast())
    fail_usage("--thresholds/--fit-on apply to samples-contrast tasks; '" + runner.spec().name +
               "' is candidates-contrast");
  if (!thresholds.is_none() && !fit_on.empty()) fail_usage("give thresholds or fit_on, not both");
  if (py::isinstance<py::str>(thresholds))
    runner.set_thresholds(Thresholds::load(thresholds.cast<std::string>()));
  else if (!thresholds.is_none())
    runner.set_thresholds(Thresholds::from_json(from_python(thresholds, "thresholds"), "the thresholds dict"));
  if (fit_on.empty()) return;
  Thresholds fitted;
  {
    py::gil_scoped_release release;
    fitted = fit_thresholds_on(runner, fit_on, chunk_size, nullptr);
  }
  if (!save_thresholds.empty()) fitted.save(save_thresholds);
  runner.set_thresholds(std::move(fitted));
}

// The model's f32 copy for a cascade, loaded once per Model; null without a cascade.
std::shared_ptr<const Model> f32_copy(const PyModel& m, const CascadeOptions& cascade) {
  if (!cascade.on()) return nullptr;
  const std::lock_guard lock(m.f32_mutex);
  if (!m.f32_copy) m.f32_copy = std::make_shared<const Model>(load_f32_copy(m.model, cascade));
  return m.f32_copy;
}

// After thresholds are applied: a samples-contrast cascade needs cut points.
void check_cascade_ready(const Job& job, const Settings& s) {
  check_cascade(s.overrides.cascade, job.runner->spec(), job.runner->thresholds().has_value());
}

std::shared_ptr<Job> start_job(const py::object& self, TaskSpec spec, py::handle records, const Settings& s,
                               bool echo_text) {
  const PyModel& m = self.cast<const PyModel&>();
  auto job = std::make_shared<Job>();
  job->owner = self;
  s.overrides.apply_to(spec);
  {
    py::gil_scoped_release release;  // calibration scores prompts against the empty text here
    m.enter();
    job->runner = std::make_unique<TaskRunner>(
        std::move(spec), m.model, s.overrides.runner_options(m.attention, echo_text), f32_copy(m, s.overrides.cascade));
  }
  return job;
}

void open_records(Job& job, py::handle records, const Settings& s) {
  ItemSource source;
  if (py::isinstance<py::str>(records)) {
    job.file = std::make_unique<JsonlReader>(records.cast<std::string>());
    source = [file = job.file.get()](size_t n, std::vector<JsonlItem>& out) { return file->read_chunk(n, out); };
  } else {
    source = RecordSource(records, s.text_field);
  }
  job.stream = std::make_unique<ResultStream>(*job.runner, std::move(source), s.chunk_size);
}

// The next chunk's results; false at the end. The GIL is released while the engine runs.
bool next_results(const Job& job, std::vector<LineResult>& out) {
  const PyModel& m = job.owner.cast<const PyModel&>();
  py::gil_scoped_release release;
  m.enter();
  return job.stream->next(out);
}

py::list classify(const py::object& self, py::handle texts, std::vector<std::string> labels, const py::dict& kw) {
  Settings s = settings_from(kw);
  if (s.text_field.empty()) s.text_field = "text";
  auto job = start_job(self, classify_task(std::move(labels), s.text_field), texts, s, /*echo_text=*/true);
  open_records(*job, texts, s);
  py::list out;
  std::vector<LineResult> results;
  while (next_results(*job, results))
    for (const LineResult& r : results) out.append(to_python(job->runner->to_json(r)));
  return out;
}

// Iterator over score results, one chunk scored per refill.
class ResultIterator {
 public:
  explicit ResultIterator(std::shared_ptr<Job> job) : job_(std::move(job)) {}
  py::object next() {
    while (index_ >= results_.size()) {
      index_ = 0;
      if (done_ || !next_results(*job_, results_)) {
        done_ = true;
        job_->stream.reset();  // drops the records iterator now
        throw py::stop_iteration();
      }
    }
    return to_python(job_->runner->to_json(results_[index_++]));
  }

 private:
  std::shared_ptr<Job> job_;
  std::vector<LineResult> results_;
  size_t index_ = 0;
  bool done_ = false;
};

ResultIterator score(const py::object& self, py::handle task, py::handle records, py::handle thresholds,
                     const std::string& fit_on, const std::string& save_thresholds, const py::dict& kw) {
  const Settings s = settings_from(kw);
  auto job = start_job(self, task_from(task), records, s, /*echo_text=*/false);
  apply_thresholds(*job->runner, thresholds, fit_on, save_thresholds, s.chunk_size);
  check_cascade_ready(*job, s);
  open_records(*job, records, s);
  return ResultIterator(job);
}

// Scores blocks of raw JSONL text with one task, each block's lines numbered from a given line:
// what nspbert.distributed runs per partition, so that a partition's lines are byte for byte the
// lines `nspbert score` writes for them (error lines carry the whole file's line numbers).
class BlockScorer {
 public:
  BlockScorer(std::shared_ptr<Job> job, size_t chunk_size) : job_(std::move(job)), chunk_size_(chunk_size) {}

  // [(input_line, output_line, failed)] for the non-blank lines of `block`, whose first line is
  // `first_line`; failed: the output line is an {"error": ...} line.
  py::list score(const py::bytes& block, int64_t first_line) const {
    if (first_line < 1) fail_usage("first_line must be >= 1");
    std::istringstream in{std::string(block)};  // copied: the GIL is released below
    const PyModel& m = job_->owner.cast<const PyModel&>();
    struct Line {
      int64_t input_line;
      std::string text;
      bool failed;
    };
    std::vector<Line> lines;
    StreamSummary summary;
    {
      py::gil_scoped_release release;
      m.enter();
      JsonlReader reader(in, "the block");
      reader.number_next_line(first_line);
      summary = score_stream(*job_->runner, reader, chunk_size_, nullptr, [&](const LineResult& r) {
        lines.push_back({r.line, job_->runner->to_line(r), !r.error.empty()});
      });
    }
    if (summary.interrupted) check_signals();  // raises the pending KeyboardInterrupt
    py::list out;
    for (const Line& l : lines) out.append(py::make_tuple(l.input_line, py::str(l.text), l.failed));
    return out;
  }

 private:
  std::shared_ptr<Job> job_;
  size_t chunk_size_;
};

BlockScorer block_scorer(const py::object& self, py::handle task, py::handle thresholds, const py::dict& kw) {
  const Settings s = settings_from(kw);
  auto job = start_job(self, task_from(task), py::none(), s, /*echo_text=*/false);
  apply_thresholds(*job->runner, thresholds, "", "", s.chunk_size);
  check_cascade_ready(*job, s);
  if (job->runner->needs_all_scores())
    fail_usage(
        "task '" + job->runner->spec().name +
        "' is samples-contrast: scoring it in blocks needs thresholds (equal-size bins depend on every line's score)");
  return BlockScorer(job, s.chunk_size);
}

py::object evaluate(const py::object& self, py::handle task, py::handle records, py::handle thresholds,
                    const std::string& fit_on, const py::dict& kw) {
  const Settings s = settings_from(kw);
  TaskSpec spec = task_from(task);
  auto job = start_job(self, std::move(spec), records, s, /*echo_text=*/false);
  if (job->runner->spec().label_field.empty())
    fail_usage("task '" + job->runner->spec().name + "' names no label_field: eval needs gold labels");
  apply_thresholds(*job->runner, thresholds, fit_on, "", s.chunk_size);
  check_cascade_ready(*job, s);
  open_records(*job, records, s);
  Evaluation evaluation(*job->runner);
  std::vector<LineResult> results;
  while (next_results(*job, results))
    for (const LineResult& r : results) evaluation.add(r);
  return to_python(evaluation.to_json());
}

LengthLimit length_limit(std::optional<size_t> max_length, const std::string& overlength) {
  return LengthLimit{max_length, overlength == "error"};
}

// Sequences for texts; a refused text (overlength="error") is an InputError naming it.
std::vector<Sequence> text_sequences(SequenceBuilder& builder, const std::vector<std::string>& texts, size_t first) {
  std::vector<Sequence> out;
  std::string error;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::optional<Sequence> s = builder.single(texts[i], error);
    if (!s) fail_input("text " + std::to_string(first + i) + ": " + error);
    out.push_back(std::move(*s));
  }
  return out;
}

void warn_notes(const SequenceBuilder& builder) {
  for (const std::string& note : builder.notes()) PyErr_WarnEx(PyExc_UserWarning, ("nspbert: " + note).c_str(), 2);
}

py::array_t<float> embed(const PyModel& m, const std::vector<std::string>& texts, const std::string& pooling_name,
                         bool normalize, std::optional<size_t> max_length, const std::string& overlength) {
  const std::optional<Pooling> pooling = parse_pooling(pooling_name);
  if (!pooling) fail_usage("pooling must be mean, cls or pooler, not '" + pooling_name + "'");
  SequenceBuilder builder(length_limit(max_length, overlength), m.model, m.attention, /*pairs=*/false);
  VectorSet all;
  all.dim = m.model.spec.hidden;
  // Rounds of kTextsPerRound texts, as `nspbert embed` reads its input, so batches and floats match.
  for (size_t first = 0; first < texts.size(); first += kTextsPerRound) {
    check_signals();
    const std::vector<std::string> chunk(texts.begin() + first,
                                         texts.begin() + std::min(texts.size(), first + kTextsPerRound));
    py::gil_scoped_release release;
    m.enter();
    VectorSet vectors =
        sentence_vectors(*m.model.encoder, text_sequences(builder, chunk, first), *pooling, m.attention);
    if (normalize) vectors = normalized(vectors);
    if (first == 0)
      all.values = std::move(vectors.values);
    else
      all.values.insert(all.values.end(), vectors.values.begin(), vectors.values.end());
  }
  warn_notes(builder);
  const py::ssize_t n = static_cast<py::ssize_t>(texts.size());
  return owning_array(std::move(all.values), {n, static_cast<py::ssize_t>(all.dim)});
}

py::list rank(const PyModel& m, const std::string& query, const std::vector<std::string>& texts,
              const std::string& distance, int64_t k, const std::string& pooling_name, int64_t top,
              std::optional<size_t> max_length, const std::string& overlength) {
  const std::optional<Pooling> pooling = parse_pooling(pooling_name);
  if (!pooling) fail_usage("pooling must be mean, cls or pooler, not '" + pooling_name + "'");
  if (distance != "cosine" && distance != "geodesic")
    fail_usage("distance must be cosine or geodesic, not '" + distance + "'");
  if (k < 1) fail_usage("k must be at least 1");
  SequenceBuilder builder(length_limit(max_length, overlength), m.model, m.attention, /*pairs=*/false);
  std::string error;
  std::optional<Sequence> q = builder.single(query, error);
  if (!q) fail_input("the query cannot be used: " + error);
  // As `nspbert rank`: a refused text is reported after the ranking, the others are ranked.
  std::vector<Sequence> sequences;
  std::vector<std::string> kept;
  std::vector<size_t> lines;
  std::vector<nlohmann::json> failed;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::optional<Sequence> s = builder.single(texts[i], error);
    if (!s) {
      failed.push_back({{"line", i + 1}, {"error", error}});
      continue;
    }
    sequences.push_back(std::move(*s));
    kept.push_back(texts[i]);
    lines.push_back(i + 1);
  }
  sequences.push_back(std::move(*q));
  std::vector<nlohmann::json> rows;
  {
    py::gil_scoped_release release;
    m.enter();
    rows = ranked_rows(query_distances(*m.model.encoder, sequences, *pooling, m.attention, distance == "geodesic", k),
                       kept, lines, top);
  }
  warn_notes(builder);
  py::list out;
  for (const auto& r : rows) out.append(to_python(r));
  for (const auto& r : failed) out.append(to_python(r));
  return out;
}

py::list pair_score(const PyModel& m, const std::vector<std::pair<std::string, std::string>>& pairs,
                    const std::string& truncation, std::optional<size_t> max_length, const std::string& overlength) {
  check_cross_encoder(*m.model.encoder);
  SequenceBuilder builder(length_limit(max_length, overlength), m.model, m.attention, /*pairs=*/true);
  const Truncation rule = truncation == "nsp" ? Truncation::NspReference : Truncation::LongestFirst;
  BatchPlan plan;
  plan.attention = m.attention;
  plan.classifier = true;
  py::list out;
  for (size_t first = 0; first < pairs.size(); first += kTextsPerRound) {
    check_signals();
    const size_t end = std::min(pairs.size(), first + kTextsPerRound);
    std::vector<nlohmann::json> results(end - first);
    std::vector<Sequence> sequences;
    std::vector<size_t> slot;
    std::string error;
    for (size_t i = first; i < end; ++i) {
      std::optional<Sequence> s = builder.pair(pairs[i].first, pairs[i].second, rule, error);
      if (!s) {
        results[i - first] = {{"line", i + 1}, {"error", error}};
        continue;
      }
      results[i - first] = {{"a", pairs[i].first}, {"b", pairs[i].second}};
      sequences.push_back(std::move(*s));
      slot.push_back(i - first);
    }
    {
      py::gil_scoped_release release;
      m.enter();
      const std::vector<SequenceOutputs> scored = run_sequences(*m.model.encoder, sequences, plan);
      for (size_t n = 0; n < slot.size(); ++n) results[slot[n]].update(pair_scores(scored[n].classifier_logits));
    }
    for (const auto& r : results) out.append(to_python(r));
  }
  warn_notes(builder);
  return out;
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<ResultIterator>(m, "_ResultIterator")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &ResultIterator::next);
  py::class_<BlockScorer>(m, "_BlockScorer").def("score", &BlockScorer::score, py::arg("block"), py::arg("first_line"));
  py::class_<PyModel>(m, "Model")
      .def(py::init([](const std::string& path, int threads, const std::string& precision, int64_t window, bool logn,
                       double logn_base, bool hwfa) {
             return load(path, threads, precision, AttentionRequest{window, logn, logn_base, hwfa});
           }),
           py::arg("path"), py::arg("threads"), py::arg("precision"), py::arg("attention_window"), py::arg("logn"),
           py::arg("logn_base"), py::arg("hwfa"))
      .def_property_readonly("_info", [](const PyModel& m) { return to_python(model_info(m.model)); })
      .def("_forward", &forward)
      .def("_tokenize", &tokenize)
      .def("_classify", &classify)
      .def("_score", &score)
      .def("_block_scorer", &block_scorer)
      .def("_evaluate", &evaluate)
      .def("_embed", &embed)
      .def("_rank", &rank)
      .def("_pair_score", &pair_score);
}

}  // namespace nspbert::python
