// nspbert forward: one JSON request in, every encoder output out (docs/design.md, "Conformance").
#include <cmath>
#include <iostream>
#include <memory>

#include "engine/error.h"
#include "engine/ops/softmax.h"
#include "tools/cli/command.h"
#include "tools/cli/json_io.h"
#include "tools/cli/model_options.h"

namespace nspbert::cli {
namespace {

struct ForwardArgs {
  ModelOptions model;
  std::string input = "-";
  bool no_stats = false;
};

EncoderInput parse_request(const nlohmann::json& request, const EncoderSpec& spec) {
  if (!request.is_object()) fail_input("the request must be a JSON object");
  if (!request.contains("input_ids")) fail_input("the request has no 'input_ids'");
  constexpr int64_t kMax = int64_t{1} << 31;
  const auto ids = int_matrix(request["input_ids"], "input_ids", INT32_MIN, INT32_MAX);
  EncoderInput in;
  in.batch = static_cast<int64_t>(ids.size());
  in.seq_len = static_cast<int64_t>(ids[0].size());
  auto same_shape = [&](const std::vector<std::vector<int64_t>>& m, const char* field) {
    if (static_cast<int64_t>(m.size()) != in.batch || static_cast<int64_t>(m[0].size()) != in.seq_len)
      fail_input(std::string("'") + field + "' does not have the shape of 'input_ids'");
  };
  for (const auto& row : ids)
    for (int64_t v : row) in.ids.push_back(static_cast<int32_t>(v));
  if (request.contains("token_type_ids") && !request["token_type_ids"].is_null()) {
    const auto tt = int_matrix(request["token_type_ids"], "token_type_ids", INT32_MIN, INT32_MAX);
    same_shape(tt, "token_type_ids");
    for (const auto& row : tt)
      for (int64_t v : row) in.type_ids.push_back(static_cast<int32_t>(v));
  }
  if (request.contains("attention_mask") && !request["attention_mask"].is_null()) {
    const auto am = int_matrix(request["attention_mask"], "attention_mask", 0, 1);
    same_shape(am, "attention_mask");
    for (const auto& row : am)
      for (int64_t v : row) in.attention_mask.push_back(static_cast<uint8_t>(v));
  }
  if (request.contains("position_ids") && !request["position_ids"].is_null()) {
    const auto pos = int_matrix(request["position_ids"], "position_ids", 0, kMax);
    same_shape(pos, "position_ids");
    for (const auto& row : pos)
      for (int64_t v : row) in.position_ids.push_back(v);
  }
  (void)spec;
  return in;
}

AttentionOptions request_attention(const nlohmann::json& request, AttentionOptions base) {
  if (!request.contains("options")) return base;
  const auto& o = request["options"];
  if (!o.is_object()) fail_input("'options' must be an object");
  if (o.contains("window") && !o["window"].is_null()) {
    if (!o["window"].is_number_integer() || o["window"].get<int64_t>() < 1)
      fail_input("'options.window' must be a positive integer");
    base.window = o["window"].get<int64_t>();
  }
  if (o.contains("logn_base") && !o["logn_base"].is_null()) {
    if (!o["logn_base"].is_number() || !(o["logn_base"].get<double>() > 1.0))
      fail_input("'options.logn_base' must be a number greater than 1");
    base.logn_base = o["logn_base"].get<double>();
    base.logn_at_least_one = false;  // the fixture contract: exactly log(n)/log(base)
  }
  return base;
}

nlohmann::json matrix(const std::vector<float>& v, int64_t rows, int64_t cols) {
  nlohmann::json out = nlohmann::json::array();
  for (int64_t r = 0; r < rows; ++r)
    out.push_back(std::vector<float>(v.begin() + r * cols, v.begin() + (r + 1) * cols));
  return out;
}

int run(const ForwardArgs& args) {
  const nlohmann::json request = read_json_file(args.input);
  Model model = args.model.load(/*need_tokenizer=*/false);
  const EncoderSpec& spec = model.spec;
  const HeadsPresent heads = model.encoder->heads();

  ForwardRequest req;
  EncoderInput in = parse_request(request, spec);
  req.attention = request_attention(request, args.model.attention(spec));
  req.want_last_hidden = true;
  req.want_pooled = heads.pooler;
  req.want_nsp = heads.nsp;
  req.want_classifier = heads.classifier;
  req.want_stats = !args.no_stats;
  if (request.contains("mlm_positions") && !request["mlm_positions"].is_null()) {
    const auto& mp = request["mlm_positions"];
    if (!mp.is_array()) fail_input("'mlm_positions' must be an array of [batch, position] pairs");
    for (const auto& pair : mp) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() || !pair[1].is_number_integer())
        fail_input("'mlm_positions' entries must be [batch, position] integer pairs");
      req.mlm_positions.emplace_back(pair[0].get<int64_t>(), pair[1].get<int64_t>());
    }
    if (!heads.mlm) fail_model("this checkpoint has no MLM head, but 'mlm_positions' were requested");
  }

  const EncoderOutput out = model.encoder->forward(in, req);
  const int64_t B = out.batch, T = out.seq_len, H = out.hidden;
  nlohmann::json result;
  nlohmann::json hidden = nlohmann::json::array();
  for (int64_t b = 0; b < B; ++b) {
    std::vector<float> seq(out.last_hidden.begin() + b * T * H, out.last_hidden.begin() + (b + 1) * T * H);
    hidden.push_back(matrix(seq, T, H));
  }
  result["last_hidden_state"] = std::move(hidden);
  if (req.want_pooled) result["pooled"] = matrix(out.pooled, B, H);
  if (req.want_nsp) {
    result["nsp_logits"] = matrix(out.nsp_logits, B, 2);
    nlohmann::json probs = nlohmann::json::array();
    for (int64_t b = 0; b < B; ++b) probs.push_back(prob_is_next(out.nsp_logits[2 * b], out.nsp_logits[2 * b + 1]));
    result["nsp_prob_is_next"] = std::move(probs);
  }
  if (req.want_classifier)
    result["classifier_logits"] = matrix(out.classifier_logits, B, model.encoder->classifier_outputs());
  if (!req.mlm_positions.empty()) {
    nlohmann::json mlm = nlohmann::json::array();
    for (size_t m = 0; m < req.mlm_positions.size(); ++m)
      mlm.push_back({{"batch", req.mlm_positions[m].first},
                     {"position", req.mlm_positions[m].second},
                     {"log_probs", out.mlm_log_probs[m]}});
    result["mlm"] = std::move(mlm);
  }
  if (req.want_stats) {
    result["stream_stats"] = {{"norm", out.stats.norm()},
                              {"relative_update", out.stats.relative_update()},
                              {"cosine_next", out.stats.cosine_next()},
                              {"attention_entropy", out.stats.attention_entropy()}};
  }
  std::cout << dump(result) << "\n";
  return 0;
}

void declare(CLI::App& app, ForwardArgs& args) {
  args.model.add_to(app, /*with_attention=*/true, /*with_tokenizer=*/false);
  app.add_option("--input", args.input, "Request JSON file ('-' = standard input)");
  app.add_flag("--no-stats", args.no_stats, "Skip the residual-stream statistics");
}

const bool registered = register_command<ForwardArgs>(
    "forward", "Run the encoder on a JSON request of token ids and print every output as JSON", declare, run);

}  // namespace
}  // namespace nspbert::cli
