// The shipped trained models (models/pretrained) against the outputs PyTorch computed for them when
// they were trained (tests/data/trained, written by tools/train/reference_values.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/model.h"

namespace fs = std::filesystem;
using namespace nspbert;

namespace {

const fs::path kRepo = fs::path(NSPBERT_TEST_DATA).parent_path().parent_path();

std::vector<double> flat(const nlohmann::json& v) {
  std::vector<double> out;
  if (!v.is_array()) return {v.get<double>()};
  for (const auto& x : v) {
    const auto inner = flat(x);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  return out;
}

double max_abs_diff(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  return worst;
}

EncoderInput input_of(const nlohmann::json& c) {
  EncoderInput in;
  in.batch = static_cast<int64_t>(c["input_ids"].size());
  in.seq_len = static_cast<int64_t>(c["input_ids"][0].size());
  for (const auto& v : flat(c["input_ids"])) in.ids.push_back(static_cast<int32_t>(v));
  for (const auto& v : flat(c["token_type_ids"])) in.type_ids.push_back(static_cast<int32_t>(v));
  for (const auto& v : flat(c["attention_mask"])) in.attention_mask.push_back(static_cast<uint8_t>(v));
  return in;
}

// Every case of one reference file; returns how many ran.
int check_reference_file(const fs::path& file) {
  std::ifstream stream(file);
  const nlohmann::json spec = nlohmann::json::parse(stream);
  const Model model = load_model(kRepo / spec["model"].get<std::string>(), {0, false});
  int cases = 0;
  for (const auto& c : spec["cases"]) {
    SCOPED_TRACE(file.filename().string() + "/" + c["name"].get<std::string>());
    const auto& e = c["expect"];
    ForwardRequest req;
    req.want_pooled = true;
    req.want_nsp = true;
    req.want_last_hidden = e.contains("last_hidden_state");
    for (const auto& m : e["mlm"])
      req.mlm_positions.emplace_back(m["batch"].get<int64_t>(), m["position"].get<int64_t>());
    const EncoderOutput out = model.encoder->forward(input_of(c), req);
    EXPECT_LE(max_abs_diff(out.pooled, flat(e["pooled"])), 1e-3);
    EXPECT_LE(max_abs_diff(out.nsp_logits, flat(e["nsp_logits"])), 1e-3);
    if (req.want_last_hidden) EXPECT_LE(max_abs_diff(out.last_hidden, flat(e["last_hidden_state"])), 1e-3);
    for (size_t m = 0; m < req.mlm_positions.size(); ++m) {
      const auto& want = e["mlm"][m];
      for (size_t k = 0; k < want["top_ids"].size(); ++k)
        EXPECT_NEAR(out.mlm_log_probs[m][want["top_ids"][k].get<int64_t>()], want["top_log_probs"][k].get<double>(),
                    1e-3);
    }
    ++cases;
  }
  return cases;
}

}  // namespace

TEST(TrainedModels, MatchTheirPyTorchReferenceWithin1e3) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(NSPBERT_TEST_DATA) / "trained")) {
    EXPECT_EQ(check_reference_file(entry.path()), 51);
    ++files;
  }
  EXPECT_GE(files, 2);  // zh-mini and zh-mini-prenorm
}
