// The encoder against the reference fixtures, and every checkpoint-layout variant the loader
// accepts (prefix or not, legacy norm names, stored decoder, heads absent) or rejects.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/error.h"
#include "engine/weights/weight_store.h"
#include "models/config_reader.h"
#include "models/model.h"

using namespace nspbert;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(NSPBERT_TEST_DATA) / "fixtures";

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

double max_abs_diff(const std::vector<float>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) m = std::max(m, std::fabs(got[i] - want[i]));
  return m;
}

std::vector<double> flat(const nlohmann::json& v) {
  std::vector<double> out;
  if (v.is_array())
    for (const auto& x : v) {
      auto inner = flat(x);
      out.insert(out.end(), inner.begin(), inner.end());
    }
  else
    out.push_back(v.get<double>());
  return out;
}

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// A minimal F32 safetensors writer, independent of the engine's own.
void write_safetensors(const fs::path& path, const std::map<std::string, Tensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = t.values.size() * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), text.size());
  for (const auto& [name, t] : tensors) out.write(reinterpret_cast<const char*>(t.values.data()), t.values.size() * 4);
}

std::map<std::string, Tensor> read_all(const fs::path& model_dir) {
  WeightStore store = WeightStore::open_dir(model_dir);
  std::map<std::string, Tensor> out;
  for (const auto& name : store.names()) out[name] = {store.find(name)->shape, store.read_f32(name)};
  return out;
}

// A copy of a fixture model folder with its tensors rewritten by `edit`.
fs::path variant(const std::string& fixture, const std::string& tag,
                 const std::function<void(std::map<std::string, Tensor>&, nlohmann::json&)>& edit) {
  const fs::path src = kFixtures / "models" / fixture;
  const fs::path dir =
      fs::temp_directory_path() / ("nspbert_variant_" + fixture + "_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"vocab.txt", "tokenizer_config.json"}) fs::copy_file(src / f, dir / f);
  auto tensors = read_all(src);
  nlohmann::json config = read_json(src / "config.json");
  edit(tensors, config);
  std::ofstream(dir / "config.json") << config.dump(2);
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

EncoderInput sample_input(int64_t vocab) {
  EncoderInput in;
  in.batch = 2;
  in.seq_len = 7;
  for (int i = 0; i < 14; ++i) in.ids.push_back(static_cast<int32_t>((101 + i * 37) % vocab));
  in.type_ids = {0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0};
  in.attention_mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  return in;
}

EncoderOutput run_all(const Model& m, const EncoderInput& in) {
  ForwardRequest req;
  req.want_last_hidden = true;
  const HeadsPresent heads = m.encoder->heads();
  req.want_pooled = heads.pooler;
  req.want_nsp = heads.nsp;
  if (heads.mlm) req.mlm_positions = {{0, 1}, {1, 3}};
  return m.encoder->forward(in, req);
}

void expect_same_outputs(const EncoderOutput& a, const EncoderOutput& b) {
  ASSERT_EQ(a.last_hidden.size(), b.last_hidden.size());
  for (size_t i = 0; i < a.last_hidden.size(); ++i) ASSERT_NEAR(a.last_hidden[i], b.last_hidden[i], 1e-5);
  ASSERT_EQ(a.nsp_logits.size(), b.nsp_logits.size());
  for (size_t i = 0; i < a.nsp_logits.size(); ++i) ASSERT_NEAR(a.nsp_logits[i], b.nsp_logits[i], 1e-5);
  ASSERT_EQ(a.mlm_log_probs.size(), b.mlm_log_probs.size());
  for (size_t m = 0; m < a.mlm_log_probs.size(); ++m)
    for (size_t i = 0; i < a.mlm_log_probs[m].size(); ++i)
      ASSERT_NEAR(a.mlm_log_probs[m][i], b.mlm_log_probs[m][i], 1e-4);
}

std::string load_error(const fs::path& dir) {
  try {
    load_model(dir, {0, false});
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 3);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ForwardConformance, EveryFixtureCaseWithin1e3) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures / "forward")) {
    const nlohmann::json spec = read_json(entry.path());
    const Model model = load_model(kFixtures / spec["model"].get<std::string>(), {0, false});
    for (const auto& c : spec["cases"]) {
      SCOPED_TRACE(entry.path().filename().string() + "/" + c["name"].get<std::string>());
      EncoderInput in;
      in.batch = static_cast<int64_t>(c["input_ids"].size());
      in.seq_len = static_cast<int64_t>(c["input_ids"][0].size());
      for (const auto& row : c["input_ids"])
        for (const auto& v : row) in.ids.push_back(v.get<int32_t>());
      for (const auto& row : c["token_type_ids"])
        for (const auto& v : row) in.type_ids.push_back(v.get<int32_t>());
      for (const auto& row : c["attention_mask"])
        for (const auto& v : row) in.attention_mask.push_back(v.get<uint8_t>());
      const auto& e = c["expect"];
      ForwardRequest req;
      req.want_last_hidden = true;
      req.want_stats = true;
      req.want_pooled = e.contains("pooled");
      req.want_nsp = e.contains("nsp_logits");
      if (c["options"].contains("window")) req.attention.window = c["options"]["window"].get<int64_t>();
      if (c["options"].contains("logn_base")) req.attention.logn_base = c["options"]["logn_base"].get<double>();
      if (e.contains("mlm"))
        for (const auto& m : e["mlm"])
          req.mlm_positions.emplace_back(m["batch"].get<int64_t>(), m["position"].get<int64_t>());
      const EncoderOutput out = model.encoder->forward(in, req);
      EXPECT_LE(max_abs_diff(out.last_hidden, flat(e["last_hidden_state"])), 1e-3);
      if (req.want_pooled) EXPECT_LE(max_abs_diff(out.pooled, flat(e["pooled"])), 1e-3);
      if (req.want_nsp) EXPECT_LE(max_abs_diff(out.nsp_logits, flat(e["nsp_logits"])), 1e-3);
      for (size_t m = 0; m < req.mlm_positions.size(); ++m) {
        const auto& want = e["mlm"][m];
        for (size_t k = 0; k < want["top_ids"].size(); ++k)
          EXPECT_NEAR(out.mlm_log_probs[m][want["top_ids"][k].get<int64_t>()], want["top_log_probs"][k].get<double>(),
                      1e-3);
      }
      const auto as_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
      EXPECT_LE(max_abs_diff(as_float(out.stats.norm()), flat(e["stream_stats"]["norm"])), 1e-3);
      EXPECT_LE(max_abs_diff(as_float(out.stats.relative_update()), flat(e["stream_stats"]["relative_update"])), 1e-3);
      EXPECT_LE(max_abs_diff(as_float(out.stats.cosine_next()), flat(e["stream_stats"]["cosine_next"])), 1e-3);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 21);
}

TEST(Encoder, ClsOnlyLastLayerGivesTheSameNspLogits) {
  const Model model = load_model(kFixtures / "models" / "megatron-zh-tiny", {0, false});
  const EncoderInput in = sample_input(model.spec.vocab_size);
  ForwardRequest full, cls_only;
  full.want_nsp = cls_only.want_nsp = true;
  full.want_last_hidden = true;  // forces every row through the last layer
  const auto a = model.encoder->forward(in, full), b = model.encoder->forward(in, cls_only);
  ASSERT_EQ(a.nsp_logits.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(a.nsp_logits[i], b.nsp_logits[i], 1e-5);
}

// The encoder keeps its working buffers per thread across calls: a forward must give exactly what
// it gives on a fresh thread, whatever larger or masked batch ran before it on the same thread.
TEST(Encoder, OutputsDoNotDependOnEarlierCallsOnTheThread) {
  for (const char* fixture : {"bert-zh-tiny", "megatron-zh-tiny"})
    for (const Precision precision : {Precision::F32, Precision::BF16, Precision::Int8}) {
      SCOPED_TRACE(std::string(fixture) + " precision " + std::to_string(static_cast<int>(precision)));
      const Model model = load_model(kFixtures / "models" / fixture, {0, false, precision});
      const EncoderInput small = sample_input(model.spec.vocab_size);
      EncoderInput large;
      large.batch = 6;
      large.seq_len = 45;
      for (int64_t i = 0; i < large.batch * large.seq_len; ++i) {
        large.ids.push_back(static_cast<int32_t>((7 + i * 131) % model.spec.vocab_size));
        large.type_ids.push_back(i % large.seq_len > 20 ? 1 : 0);
        large.attention_mask.push_back(i % large.seq_len < 45 - (i / large.seq_len) * 5 ? 1 : 0);
      }
      EncoderOutput fresh, after_large;
      std::thread([&] { fresh = run_all(model, small); }).join();
      std::thread([&] {
        run_all(model, large);
        after_large = run_all(model, small);
      }).join();
      ASSERT_FALSE(fresh.last_hidden.empty());
      EXPECT_EQ(fresh.last_hidden, after_large.last_hidden);
      EXPECT_EQ(fresh.nsp_logits, after_large.nsp_logits);
      EXPECT_EQ(fresh.pooled, after_large.pooled);
    }
}

// Two threads running one model at once get what one thread gets (the Python package lets them):
// each oneDNN matmul execution takes the calling thread's own scratchpad (engine/ops/linear.cc).
TEST(Encoder, TwoThreadsOnOneModelGetSingleThreadResults) {
  for (const Precision precision : {Precision::F32, Precision::BF16, Precision::Int8}) {
    SCOPED_TRACE("precision " + std::to_string(static_cast<int>(precision)));
    const Model model = load_model(kFixtures / "models" / "bert-zh-tiny", {1, false, precision});
    std::vector<EncoderInput> inputs;
    for (int64_t n = 0; n < 12; ++n) {
      EncoderInput in;
      in.batch = 2 + n % 3;  // run_all asks for MLM rows in sequences 0 and 1
      in.seq_len = 5 + 3 * n;
      for (int64_t i = 0; i < in.batch * in.seq_len; ++i)
        in.ids.push_back(static_cast<int32_t>((100 + i * 37 + n * 11) % model.spec.vocab_size));
      inputs.push_back(std::move(in));
    }
    std::vector<EncoderOutput> want;
    for (const EncoderInput& in : inputs) want.push_back(run_all(model, in));
    std::atomic<int> mismatches{0};
    auto work = [&](size_t offset) {
      for (int round = 0; round < 5; ++round)
        for (size_t k = 0; k < inputs.size(); ++k) {
          const size_t i = (k + offset) % inputs.size();
          const EncoderOutput out = run_all(model, inputs[i]);
          if (out.last_hidden != want[i].last_hidden || out.nsp_logits != want[i].nsp_logits) ++mismatches;
        }
    };
    std::thread a(work, 0), b(work, 5);
    a.join();
    b.join();
    EXPECT_EQ(mismatches.load(), 0);
  }
}

TEST(ModelLoading, WithoutPrefixAndWithLegacyNormNamesLoadsTheSameModel) {
  const Model original = load_model(kFixtures / "models" / "bert-zh-tiny", {0, false});
  const EncoderInput in = sample_input(original.spec.vocab_size);
  const EncoderOutput want = run_all(original, in);
  const fs::path no_prefix = variant("bert-zh-tiny", "noprefix", [](auto& t, auto&) {
    std::map<std::string, Tensor> renamed;
    for (auto& [name, tensor] : t) renamed[name.rfind("bert.", 0) == 0 ? name.substr(5) : name] = tensor;
    t = renamed;
  });
  expect_same_outputs(run_all(load_model(no_prefix, {0, false}), in), want);
  const fs::path legacy = variant("bert-zh-tiny", "legacy", [](auto& t, auto&) {
    std::map<std::string, Tensor> renamed;
    for (auto& [name, tensor] : t) {
      std::string n = name;
      if (n.size() > 17 && n.compare(n.size() - 17, 17, "LayerNorm.weight") == 0)
        n = n.substr(0, n.size() - 6) + "gamma";
      if (n.size() > 15 && n.compare(n.size() - 15, 15, "LayerNorm.bias") == 0) n = n.substr(0, n.size() - 4) + "beta";
      renamed[n] = tensor;
    }
    t = renamed;
  });
  expect_same_outputs(run_all(load_model(legacy, {0, false}), in), want);
  fs::remove_all(no_prefix);
  fs::remove_all(legacy);
}

TEST(ModelLoading, StoredDecoderWeightIsUsedInsteadOfTheTiedEmbedding) {
  const Model original = load_model(kFixtures / "models" / "bert-zh-tiny", {0, false});
  const EncoderInput in = sample_input(original.spec.vocab_size);
  const EncoderOutput tied = run_all(original, in);
  // A stored copy of the embeddings behaves exactly like the tie ...
  const fs::path same = variant("bert-zh-tiny", "decoder_same", [](auto& t, auto&) {
    t["cls.predictions.decoder.weight"] = t["bert.embeddings.word_embeddings.weight"];
  });
  expect_same_outputs(run_all(load_model(same, {0, false}), in), tied);
  // ... and a different stored decoder changes the MLM output.
  const fs::path scaled = variant("bert-zh-tiny", "decoder_scaled", [](auto& t, auto&) {
    Tensor d = t["bert.embeddings.word_embeddings.weight"];
    for (auto& v : d.values) v *= 2.0f;
    t["cls.predictions.decoder.weight"] = d;
  });
  const EncoderOutput changed = run_all(load_model(scaled, {0, false}), in);
  EXPECT_GT(std::fabs(changed.mlm_log_probs[0][200] - tied.mlm_log_probs[0][200]), 1e-3);
  fs::remove_all(same);
  fs::remove_all(scaled);
}

TEST(ModelLoading, HeadsAreOptional) {
  const fs::path bare = variant("bert-zh-tiny", "bare", [](auto& t, auto&) {
    std::map<std::string, Tensor> kept;
    for (auto& [name, tensor] : t)
      if (name.rfind("cls.", 0) != 0 && name.find("pooler") == std::string::npos) kept[name] = tensor;
    t = kept;
  });
  const Model m = load_model(bare, {0, false});
  const HeadsPresent h = m.encoder->heads();
  EXPECT_FALSE(h.pooler || h.nsp || h.mlm || h.classifier);
  ForwardRequest req;
  req.want_last_hidden = true;
  EXPECT_EQ(m.encoder->forward(sample_input(m.spec.vocab_size), req).last_hidden.size(), 2u * 7 * 32);
  req.want_nsp = true;
  EXPECT_THROW(m.encoder->forward(sample_input(m.spec.vocab_size), req), Error);
  fs::remove_all(bare);
}

TEST(ModelLoading, RotaryValueAndEmbeddingProjectionAreHonoured) {
  const Model base = load_model(kFixtures / "models" / "roformer-zh-tiny", {0, false});
  const EncoderInput in = sample_input(base.spec.vocab_size);
  const fs::path rotary_value = variant("roformer-zh-tiny", "rv", [](auto&, auto& c) { c["rotary_value"] = true; });
  const Model rv = load_model(rotary_value, {0, false});
  EXPECT_TRUE(rv.spec.rotary_value);
  const auto a = run_all(base, in), b = run_all(rv, in);
  double diff = 0;
  for (size_t i = 0; i < a.last_hidden.size(); ++i)
    diff = std::max(diff, std::fabs(double(a.last_hidden[i]) - b.last_hidden[i]));
  EXPECT_GT(diff, 1e-3);

  // embedding_size 16 != hidden 32: embeddings are 16 wide, embeddings_project maps them to 32.
  const fs::path projected = variant("roformer-zh-tiny", "proj", [](auto& t, auto& c) {
    c["embedding_size"] = 16;
    for (auto& [name, tensor] : t) {
      if (name.find("embeddings.") == std::string::npos && name.rfind("cls.predictions.transform.dense", 0) != 0 &&
          name.rfind("cls.predictions.transform.LayerNorm", 0) != 0)
        continue;
      // keep the first 16 columns (or rows for 1-D / transform outputs)
      if (name.rfind("cls.predictions.transform.dense.weight", 0) == 0) {
        tensor.shape = {16, 32};
        tensor.values.resize(16 * 32);
      } else if (tensor.shape.size() == 2) {
        const int64_t rows = tensor.shape[0], cols = tensor.shape[1];
        std::vector<float> v;
        for (int64_t r = 0; r < rows; ++r)
          v.insert(v.end(), tensor.values.begin() + r * cols, tensor.values.begin() + r * cols + 16);
        tensor = {{rows, 16}, v};
      } else {
        tensor.shape = {16};
        tensor.values.resize(16);
      }
    }
    Tensor project{{32, 16}, std::vector<float>(32 * 16, 0.0f)};
    for (int i = 0; i < 16; ++i) project.values[i * 16 + i] = 1.0f;  // identity into the first 16 dims
    t["roformer.embeddings_project.weight"] = project;
    t["roformer.embeddings_project.bias"] = {{32}, std::vector<float>(32, 0.0f)};
  });
  const Model p = load_model(projected, {0, false});
  EXPECT_EQ(p.spec.embedding_size, 16);
  const auto out = run_all(p, in);
  for (float v : out.last_hidden) ASSERT_TRUE(std::isfinite(v));
  for (const auto& lp : out.mlm_log_probs) ASSERT_EQ(lp.size(), static_cast<size_t>(p.spec.vocab_size));
  fs::remove_all(rotary_value);
  fs::remove_all(projected);
}

TEST(ModelLoading, ErrorsNameTheTensorOrField) {
  const fs::path missing = variant("bert-zh-tiny", "missing",
                                   [](auto& t, auto&) { t.erase("bert.encoder.layer.1.intermediate.dense.weight"); });
  EXPECT_NE(load_error(missing).find("bert.encoder.layer.1.intermediate.dense.weight"), std::string::npos);
  const fs::path wrong_shape = variant("bert-zh-tiny", "shape", [](auto& t, auto&) {
    t["bert.encoder.layer.0.attention.output.dense.weight"] = {{32, 31}, std::vector<float>(32 * 31, 0.0f)};
  });
  EXPECT_NE(load_error(wrong_shape).find("bert.encoder.layer.0.attention.output.dense.weight"), std::string::npos);
  const std::map<std::string, std::function<void(nlohmann::json&)>> bad_configs{
      {"model_type", [](auto& c) { c["model_type"] = "gpt2"; }},
      {"hidden_act", [](auto& c) { c["hidden_act"] = "mish"; }},
      {"num_attention_heads", [](auto& c) { c["num_attention_heads"] = 5; }},
      {"vocab_size", [](auto& c) { c["vocab_size"] = "many"; }},
      {"hidden_size", [](auto& c) { c.erase("hidden_size"); }},
  };
  for (const auto& entry : bad_configs) {
    const std::string& field = entry.first;  // named, not bound: clang 14 cannot capture a binding
    const auto& edit = entry.second;
    const fs::path dir = variant("bert-zh-tiny", "cfg_" + field, [&](auto&, auto& c) { edit(c); });
    EXPECT_NE(load_error(dir).find(field), std::string::npos) << field;
    fs::remove_all(dir);
  }
  EXPECT_NE(load_error("/nonexistent/model").find("/nonexistent/model"), std::string::npos);
  fs::remove_all(missing);
  fs::remove_all(wrong_shape);
}

// ALBERT: factorised embeddings, one stored layer shared by every layer, the SOP head as the NSP
// head. The fixture's expected outputs come from tools/fixtures/make_albert_fixture.py (torch).
TEST(Albert, LoadsWithSharedLayersFactorisedEmbeddingsAndTheSopHead) {
  const Model m = load_model(kFixtures / "models" / "albert-zh-tiny", {0, false});
  EXPECT_STREQ(family_name(m.spec.family), "albert");
  EXPECT_EQ(m.spec.embedding_size, 16);
  EXPECT_EQ(m.spec.hidden, 32);
  EXPECT_EQ(m.spec.layers, 3);
  EXPECT_EQ(m.spec.activation, Activation::GeluTanh);
  const HeadsPresent h = m.encoder->heads();
  EXPECT_TRUE(h.pooler && h.nsp && h.mlm);
  // Every stored tensor is used, and the shared layer is counted once.
  EXPECT_TRUE(m.unused_tensors.empty());
  int64_t stored = 0;
  for (const auto& [name, t] : read_all(kFixtures / "models" / "albert-zh-tiny"))
    stored += static_cast<int64_t>(t.values.size());
  EXPECT_EQ(m.parameter_count, stored);
}

// num_hidden_groups > 1: layer l reads group l * G / L (HF AlbertTransformer). Identical groups
// give the one-group model's outputs bit for bit; changing one group changes them; a missing
// group is an error naming its tensor.
TEST(Albert, LayerGroupsAreReadThroughTheLayerIndex) {
  const fs::path fixture = kFixtures / "models" / "albert-zh-tiny";
  const Model base = load_model(fixture, {0, false});
  const EncoderInput in = sample_input(base.spec.vocab_size);
  const EncoderOutput want = run_all(base, in);
  const std::string group0 = "albert.encoder.albert_layer_groups.0.";
  const auto with_groups = [&](const std::string& tag, float scale_group_2) {
    return variant("albert-zh-tiny", tag, [&](auto& t, auto& c) {
      c["num_hidden_groups"] = 3;
      std::map<std::string, Tensor> extra;
      for (const auto& [name, tensor] : t)
        if (name.rfind(group0, 0) == 0)
          for (int g : {1, 2}) {
            Tensor copy = tensor;
            if (g == 2 && name.find("ffn_output.weight") != std::string::npos)
              for (auto& v : copy.values) v *= scale_group_2;
            extra["albert.encoder.albert_layer_groups." + std::to_string(g) + "." + name.substr(group0.size())] = copy;
          }
      t.insert(extra.begin(), extra.end());
    });
  };
  const fs::path same = with_groups("groups_same", 1.0f), changed = with_groups("groups_changed", 3.0f);
  const Model three = load_model(same, {0, false});
  const EncoderOutput got = run_all(three, in);
  EXPECT_EQ(got.last_hidden, want.last_hidden);
  EXPECT_EQ(got.nsp_logits, want.nsp_logits);
  EXPECT_GT(three.parameter_count, base.parameter_count);  // three stored groups, each counted once
  const EncoderOutput other = run_all(load_model(changed, {0, false}), in);
  double diff = 0;
  for (size_t i = 0; i < want.last_hidden.size(); ++i)
    diff = std::max(diff, std::fabs(double(other.last_hidden[i]) - want.last_hidden[i]));
  EXPECT_GT(diff, 1e-3);
  const fs::path missing =
      variant("albert-zh-tiny", "groups_missing", [](auto&, auto& c) { c["num_hidden_groups"] = 2; });
  EXPECT_NE(load_error(missing).find("albert.encoder.albert_layer_groups.1.albert_layers.0.attention.query.weight"),
            std::string::npos);
  for (const fs::path& d : {same, changed, missing}) fs::remove_all(d);
}

TEST(Albert, NamesWithoutPrefixAndAStoredDecoderLoadTheSameModel) {
  const Model base = load_model(kFixtures / "models" / "albert-zh-tiny", {0, false});
  const EncoderInput in = sample_input(base.spec.vocab_size);
  const EncoderOutput want = run_all(base, in);
  // As an older pytorch_model.bin holds it: no "albert." prefix, the tied decoder stored, and the
  // bias under the decoder's name only.
  const fs::path dir = variant("albert-zh-tiny", "noprefix", [](auto& t, auto&) {
    std::map<std::string, Tensor> renamed;
    for (auto& [name, tensor] : t) renamed[name.rfind("albert.", 0) == 0 ? name.substr(7) : name] = tensor;
    renamed["predictions.decoder.weight"] = renamed["embeddings.word_embeddings.weight"];
    renamed["predictions.decoder.bias"] = renamed["predictions.bias"];
    renamed.erase("predictions.bias");
    t = renamed;
  });
  const Model m = load_model(dir, {0, false});
  EXPECT_TRUE(m.unused_tensors.empty());
  expect_same_outputs(run_all(m, in), want);
  fs::remove_all(dir);
}

TEST(Albert, ConfigRulesNameTheField) {
  const std::map<std::string, std::function<void(nlohmann::json&)>> bad_configs{
      {"inner_group_num", [](auto& c) { c["inner_group_num"] = 2; }},
      {"num_hidden_groups", [](auto& c) { c["num_hidden_groups"] = 4; }},
      {"position_embedding_type", [](auto& c) { c["position_embedding_type"] = "relative_key"; }},
  };
  for (const auto& entry : bad_configs) {
    const std::string& field = entry.first;
    const auto& edit = entry.second;
    const fs::path dir = variant("albert-zh-tiny", "cfg_" + field, [&](auto&, auto& c) { edit(c); });
    EXPECT_NE(load_error(dir).find(field), std::string::npos) << field;
    fs::remove_all(dir);
  }
  // HF's AlbertConfig defaults: gelu_new and embedding_size 128 when config.json leaves them out.
  const fs::path defaults = variant("albert-zh-tiny", "defaults", [](auto& t, auto& c) {
    c.erase("hidden_act");
    c.erase("embedding_size");
    t.clear();  // the weights do not matter: the spec is read first
  });
  const EncoderSpec spec = read_encoder_spec(ConfigReader::from_file(defaults / "config.json"));
  EXPECT_EQ(spec.activation, Activation::GeluTanh);
  EXPECT_EQ(spec.embedding_size, 128);
  fs::remove_all(defaults);
}
