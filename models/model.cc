#include "models/model.h"

#include <omp.h>

#include <set>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/error.h"
#include "engine/weights/weight_store.h"
#include "models/family.h"

namespace nspbert {

void set_thread_count(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}
int thread_count() { return omp_get_max_threads(); }

// Reduced precision needs the matching instructions; say so instead of running a slow emulation.
static void require_precision_support(Precision precision) {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const auto at_least = [&](dnnl::cpu_isa wanted) { return (static_cast<unsigned>(isa) & static_cast<unsigned>(wanted)) == static_cast<unsigned>(wanted); };
  if (precision == Precision::BF16 && !at_least(dnnl::cpu_isa::avx512_core_bf16))
    fail_usage("--precision bf16 needs a CPU with AVX512-BF16; this one does not have it (use f32)");
  if (precision == Precision::Int8 && !at_least(dnnl::cpu_isa::avx512_core_vnni) && !at_least(dnnl::cpu_isa::avx2_vnni))
    fail_usage("--precision int8 needs a CPU with VNNI; this one does not have it (use f32)");
}

const FamilyDefinition& family_for_config(const ConfigReader& config) {
  const std::string type = config.string("model_type");
  if (type == "bert") return bert_family();
  if (type == "megatron-bert") return megatron_bert_family();
  if (type == "roformer")
    return config.string("norm_type", "layer_norm") == "rms_norm" ? roformer_v2_family() : roformer_family();
  config.reject("model_type", "is '" + type + "'; supported: bert, megatron-bert, roformer");
}

static Activation activation_from(const ConfigReader& config) {
  const std::string act = config.string("hidden_act", "gelu");
  if (act == "gelu") return Activation::GeluErf;
  if (act == "gelu_new" || act == "gelu_fast" || act == "gelu_pytorch_tanh") return Activation::GeluTanh;
  if (act == "relu") return Activation::Relu;
  if (act == "silu" || act == "swish") return Activation::Silu;
  config.reject("hidden_act", "is '" + act + "'; supported: gelu, gelu_new, relu, silu");
}

EncoderSpec read_encoder_spec(const ConfigReader& config) {
  const FamilyDefinition& family = family_for_config(config);
  EncoderSpec spec;
  spec.family = family.family;
  spec.vocab_size = config.positive_int("vocab_size");
  spec.hidden = config.positive_int("hidden_size");
  spec.layers = config.positive_int("num_hidden_layers");
  spec.heads = config.positive_int("num_attention_heads");
  spec.intermediate = config.positive_int("intermediate_size");
  spec.embedding_size = config.positive_int("embedding_size", spec.hidden);
  spec.type_vocab_size = config.positive_int("type_vocab_size", 2);
  spec.max_positions = config.positive_int("max_position_embeddings", 512);
  spec.norm_eps = static_cast<float>(config.number("layer_norm_eps", 1e-12));
  if (!(spec.norm_eps >= 0)) config.reject("layer_norm_eps", "must be a non-negative number");
  spec.activation = activation_from(config);
  if (spec.hidden % spec.heads != 0) config.reject("num_attention_heads", "does not divide hidden_size");
  if (spec.embedding_size != spec.hidden && family.family != Family::RoFormer && family.family != Family::RoFormerV2)
    config.reject("embedding_size", "differs from hidden_size, which only RoFormer's embeddings_project supports");
  family.configure(config, spec);
  return spec;
}

namespace {

// Binds tensors by name to the encoder's slots, checking every shape against the spec.
class WeightBinder {
 public:
  WeightBinder(const WeightStore& store, const EncoderSpec& spec, const FamilyDefinition& family)
      : store_(store), spec_(spec), family_(family) {
    const std::string with_prefix = std::string(family.names.prefix) + ".";
    if (store.contains(with_prefix + "embeddings.word_embeddings.weight"))
      prefix_ = with_prefix;
    else if (!store.contains("embeddings.word_embeddings.weight"))
      fail_model("no tensor '" + with_prefix + "embeddings.word_embeddings.weight' (nor without the prefix) in " +
                 join_files());
  }

  std::string body(const std::string& name) const { return prefix_ + name; }
  bool has(const std::string& name) const { return store_.contains(name); }

  std::vector<float> tensor(const std::string& name, std::vector<int64_t> shape) {
    std::vector<float> values;
    append(name, shape, values);
    return values;
  }

  void append(const std::string& name, const std::vector<int64_t>& shape, std::vector<float>& out) {
    used_.insert(name);
    if (!store_.contains(name)) fail_model("missing tensor '" + name + "' in " + join_files());
    store_.append_f32(name, shape, out);
  }

  Linear linear(const std::string& name, int64_t in, int64_t out, bool bias, Activation act = Activation::GeluErf,
                Precision precision = Precision::F32) {
    return fused_linear({name}, in, out, bias, act, precision);
  }

  // Several [out][in] linears stacked along their outputs into one GEMM (Q, K, V). The weights go
  // through buffers reused from one layer to the next.
  Linear fused_linear(const std::vector<std::string>& names, int64_t in, int64_t out_each, bool bias, Activation act,
                      Precision precision) {
    weight_buffer_.clear();
    bias_buffer_.clear();
    for (const std::string& name : names) {
      append(name + ".weight", {out_each, in}, weight_buffer_);
      if (bias) append(name + ".bias", {out_each}, bias_buffer_);
    }
    return Linear(in, out_each * static_cast<int64_t>(names.size()), weight_buffer_, bias_buffer_, act, precision);
  }

  NormWeights layer_norm(const std::string& name, int64_t width) {
    NormWeights n;
    n.kind = NormKind::LayerNorm;
    n.eps = spec_.norm_eps;
    n.gain = tensor(name + ".weight", {width});
    n.bias = tensor(name + ".bias", {width});
    return n;
  }

  NormWeights norm(const char* relative, const std::string& scope, int64_t width) {
    if (spec_.norm_kind == NormKind::RmsNoGain) return NormWeights{NormKind::RmsNoGain, {}, {}, spec_.norm_eps};
    return layer_norm(scope + relative, width);
  }

  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& n : store_.names())
      if (!used_.count(n)) out.push_back(n);
    return out;
  }
  int64_t used_parameters() const {
    int64_t total = 0;
    for (const auto& n : used_) total += store_.find(n)->numel();
    return total;
  }

 private:
  std::string join_files() const {
    std::string s;
    for (const auto& f : store_.files()) s += (s.empty() ? "" : ", ") + f;
    return s;
  }
  const WeightStore& store_;
  const EncoderSpec& spec_;
  const FamilyDefinition& family_;
  std::string prefix_;
  std::set<std::string> used_;
  std::vector<float> weight_buffer_, bias_buffer_;
};

// The encoder layers' GEMMs run at the requested precision; embeddings, norms and heads stay f32.
EncoderWeights bind_weights(WeightBinder& bind, const EncoderSpec& spec, const FamilyDefinition& family,
                            Precision precision) {
  const int64_t H = spec.hidden, E = spec.embedding_size, V = spec.vocab_size, I = spec.intermediate;
  const WeightNames& names = family.names;
  EncoderWeights w;
  w.word_embeddings = bind.tensor(bind.body("embeddings.word_embeddings.weight"), {V, E});
  w.type_embeddings = bind.tensor(bind.body("embeddings.token_type_embeddings.weight"), {spec.type_vocab_size, E});
  if (spec.position_kind == PositionKind::Absolute)
    w.position_embeddings = bind.tensor(bind.body("embeddings.position_embeddings.weight"), {spec.max_positions, E});
  if (spec.norm_kind == NormKind::RmsNoGain)
    w.embedding_norm = NormWeights{NormKind::RmsNoGain, {}, {}, spec.norm_eps};
  else if (names.embedding_norm)
    w.embedding_norm = bind.layer_norm(bind.body("embeddings.") + names.embedding_norm, E);
  if (E != H) w.embedding_projection = bind.linear(bind.body("embeddings_project"), E, H, spec.bias);

  for (int64_t l = 0; l < spec.layers; ++l) {
    const std::string scope = bind.body("encoder.layer." + std::to_string(l) + ".");
    LayerWeights layer;
    // Q, K, V fused: one [3H, H] GEMM instead of three.
    const std::string self = scope + "attention.self.";
    layer.qkv = bind.fused_linear({self + "query", self + "key", self + "value"}, H, H, spec.bias, spec.activation, precision);
    layer.attention_out = bind.linear(scope + "attention.output.dense", H, H, spec.bias, spec.activation, precision);
    layer.ffn_in = bind.linear(scope + "intermediate.dense", H, I, spec.bias, spec.activation, precision);
    layer.ffn_out = bind.linear(scope + "output.dense", I, H, spec.bias, spec.activation, precision);
    layer.attention_norm = bind.norm(names.attention_norm, scope, H);
    layer.ffn_norm = bind.norm(names.ffn_norm, scope, H);
    w.layers.push_back(std::move(layer));
  }
  if (names.final_norm) w.final_norm = bind.layer_norm(bind.body("encoder.") + names.final_norm, H);

  // Heads: each is optional; present means every tensor it needs is there.
  if (bind.has(bind.body("pooler.dense.weight"))) w.pooler = bind.linear(bind.body("pooler.dense"), H, H, true);
  if (w.pooler && bind.has("cls.seq_relationship.weight")) w.nsp = bind.linear("cls.seq_relationship", H, 2, true);
  const bool stored_decoder = bind.has("cls.predictions.decoder.weight");
  if (family.mlm == MlmKind::TransformTied && bind.has("cls.predictions.transform.dense.weight")) {
    w.mlm = MlmKind::TransformTied;
    w.mlm_transform = bind.linear("cls.predictions.transform.dense", H, E, true, spec.activation);
    w.mlm_transform_norm = bind.layer_norm("cls.predictions.transform.LayerNorm", E);
    if (stored_decoder) w.mlm_decoder_weight = bind.tensor("cls.predictions.decoder.weight", {V, E});
    w.mlm_decoder_bias = bind.tensor("cls.predictions.bias", {V});
  } else if (family.mlm == MlmKind::DirectTied) {
    w.mlm = MlmKind::DirectTied;
    if (stored_decoder) w.mlm_decoder_weight = bind.tensor("cls.predictions.decoder.weight", {V, H});
    if (bind.has("cls.predictions.bias")) w.mlm_decoder_bias = bind.tensor("cls.predictions.bias", {V});
  }
  return w;
}

}  // namespace

Model load_model(const std::filesystem::path& dir, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    fail_model("model folder '" + dir.string() + "' " + (fs::exists(dir) ? "is not a folder" : "does not exist"));
  set_thread_count(options.threads);
  require_precision_support(options.precision);
  const ConfigReader config = ConfigReader::from_file(dir / "config.json");
  Model model;
  model.dir = dir;
  model.precision = options.precision;
  model.spec = read_encoder_spec(config);
  const FamilyDefinition& family = family_for_config(config);
  WeightStore store = WeightStore::open_dir(dir);
  WeightBinder binder(store, model.spec, family);
  EncoderWeights weights = bind_weights(binder, model.spec, family, options.precision);
  if (weights.pooler && store.contains("classifier.weight")) {
    const TensorInfo* info = store.find("classifier.weight");
    if (info->shape.size() != 2 || info->shape[1] != model.spec.hidden)
      fail_model("tensor 'classifier.weight' in " + info->file + " is not [C, hidden_size]");
    weights.classifier = binder.linear("classifier", model.spec.hidden, info->shape[0], true);
  }
  model.parameter_count = binder.used_parameters();
  model.unused_tensors = binder.unused();
  model.stored_dtype = store.stored_dtypes();
  model.weight_files = store.files();
  model.encoder = std::make_unique<Encoder>(model.spec, std::move(weights));
  if (options.need_tokenizer) {
    model.tokenizer = Tokenizer::from_model_dir(dir, options.tokenizer);
    // A token id past the embedding table would fail every text that contains it.
    if (model.tokenizer->vocab_size() > static_cast<size_t>(model.spec.vocab_size))
      fail_model("the vocabulary in " + dir.string() + " has " + std::to_string(model.tokenizer->vocab_size()) +
                 " tokens but config.json vocab_size is " + std::to_string(model.spec.vocab_size) +
                 ": they do not belong together");
  }
  return model;
}

}  // namespace nspbert
