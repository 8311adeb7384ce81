#include "models/model.h"

#include <omp.h>

#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>

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
  const auto at_least = [&](dnnl::cpu_isa wanted) {
    return (static_cast<unsigned>(isa) & static_cast<unsigned>(wanted)) == static_cast<unsigned>(wanted);
  };
  if (precision == Precision::BF16 && !at_least(dnnl::cpu_isa::avx512_core_bf16))
    fail_usage("--precision bf16 needs a CPU with AVX512-BF16; this one does not have it (use f32)");
  if (precision == Precision::Int8 && !at_least(dnnl::cpu_isa::avx512_core_vnni) && !at_least(dnnl::cpu_isa::avx2_vnni))
    fail_usage("--precision int8 needs a CPU with VNNI; this one does not have it (use f32)");
}

static Activation activation_from(const ConfigReader& config, const char* fallback) {
  const std::string act = config.string("hidden_act", fallback);
  if (act == "gelu") return Activation::GeluErf;
  if (act == "gelu_new" || act == "gelu_fast" || act == "gelu_pytorch_tanh") return Activation::GeluTanh;
  if (act == "relu") return Activation::Relu;
  if (act == "silu" || act == "swish") return Activation::Silu;
  config.reject("hidden_act", "is '" + act + "'; supported: gelu, gelu_new, relu, silu");
}

EncoderSpec read_encoder_spec(const ConfigReader& config, const FamilyDefinition& family) {
  EncoderSpec spec;
  spec.family = family.family;
  spec.vocab_size = config.positive_int("vocab_size");
  spec.hidden = config.positive_int("hidden_size");
  spec.layers = config.positive_int("num_hidden_layers");
  spec.heads = config.positive_int("num_attention_heads");
  spec.intermediate = config.positive_int("intermediate_size");
  const int64_t default_embedding_size = family.config.default_embedding_size;
  spec.embedding_size =
      config.positive_int("embedding_size", default_embedding_size ? default_embedding_size : spec.hidden);
  spec.type_vocab_size = config.positive_int("type_vocab_size", 2);
  spec.max_positions = config.positive_int("max_position_embeddings", 512);
  spec.norm_eps = static_cast<float>(config.number("layer_norm_eps", 1e-12));
  if (!(spec.norm_eps >= 0)) config.reject("layer_norm_eps", "must be a non-negative number");
  spec.activation = activation_from(config, family.config.default_activation);
  if (spec.hidden % spec.heads != 0) config.reject("num_attention_heads", "does not divide hidden_size");
  if (spec.embedding_size != spec.hidden && family.tensors.projection == EmbeddingProjection::None)
    config.reject("embedding_size", "differs from hidden_size, and " + std::string(family_name(family.family)) +
                                        " checkpoints have no embedding projection");
  family.config.configure(config, spec);
  return spec;
}

EncoderSpec read_encoder_spec(const ConfigReader& config) {
  return read_encoder_spec(config, family_for_config(config));
}

namespace {

// Binds tensors by name to the encoder's slots, checking every shape against the spec.
class WeightBinder {
 public:
  WeightBinder(const WeightStore& store, const EncoderSpec& spec, const TensorTable& table)
      : store_(store), spec_(spec) {
    const std::string with_prefix = std::string(table.prefix) + ".";
    const std::string word = std::string(table.word_embeddings) + ".weight";
    if (store.contains(with_prefix + word))
      prefix_ = with_prefix;
    else if (!store.contains(word))
      fail_model("no tensor '" + with_prefix + word + "' (nor without the prefix) in " + join_files());
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

  // The spec's norm kind: a LayerNorm's tensors under `name`, or the tensor-free RMS norm.
  NormWeights norm(const std::string& name, int64_t width) {
    if (spec_.norm_kind == NormKind::RmsNoGain) return NormWeights{NormKind::RmsNoGain, {}, {}, spec_.norm_eps};
    return layer_norm(name, width);
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
  std::string prefix_;
  std::set<std::string> used_;
  std::vector<float> weight_buffer_, bias_buffer_;
};

void bind_embeddings(WeightBinder& bind, const EncoderSpec& spec, const TensorTable& t, EncoderWeights& w) {
  const int64_t H = spec.hidden, E = spec.embedding_size;
  const auto body = [&](const char* name) { return bind.body(name) + ".weight"; };
  w.word_embeddings = bind.tensor(body(t.word_embeddings), {spec.vocab_size, E});
  w.type_embeddings = bind.tensor(body(t.type_embeddings), {spec.type_vocab_size, E});
  if (spec.position_kind == PositionKind::Absolute)
    w.position_embeddings = bind.tensor(body(t.position_embeddings), {spec.max_positions, E});
  if (spec.norm_kind == NormKind::RmsNoGain)
    w.embedding_norm = NormWeights{NormKind::RmsNoGain, {}, {}, spec.norm_eps};
  else if (t.embedding_norm)
    w.embedding_norm = bind.layer_norm(bind.body(t.embedding_norm), E);
  const bool projected =
      t.projection == EmbeddingProjection::Always || (t.projection == EmbeddingProjection::WhenSizesDiffer && E != H);
  if (projected) w.embedding_projection = bind.linear(bind.body(t.embedding_projection), E, H, spec.bias);
}

// Layers whose table entry is the same stored layer (ALBERT's sharing) get copies of one bound
// LayerWeights: a Linear copy shares its packed weight, so sharing costs no memory.
void bind_layers(WeightBinder& bind, const ConfigReader& config, const EncoderSpec& spec,
                 const FamilyDefinition& family, Precision precision, EncoderWeights& w) {
  const int64_t H = spec.hidden, I = spec.intermediate;
  const LayerTensorNames& n = family.tensors.layer;
  std::map<std::string, size_t> bound;  // scope -> first layer bound from it
  for (int64_t l = 0; l < spec.layers; ++l) {
    const std::string scope = bind.body(layer_scope(family, config, spec, l));
    if (const auto it = bound.find(scope); it != bound.end()) {
      w.layers.push_back(w.layers[it->second]);
      continue;
    }
    const auto at = [&](const char* name) { return scope + name; };
    LayerWeights layer;
    // Q, K, V fused: one [3H, H] GEMM instead of three.
    layer.qkv = bind.fused_linear({at(n.query), at(n.key), at(n.value)}, H, H, spec.bias, spec.activation, precision);
    layer.attention_out = bind.linear(at(n.attention_out), H, H, spec.bias, spec.activation, precision);
    layer.ffn_in = bind.linear(at(n.ffn_in), H, I, spec.bias, spec.activation, precision);
    layer.ffn_out = bind.linear(at(n.ffn_out), I, H, spec.bias, spec.activation, precision);
    layer.attention_norm = bind.norm(n.attention_norm ? at(n.attention_norm) : scope, H);
    layer.ffn_norm = bind.norm(n.ffn_norm ? at(n.ffn_norm) : scope, H);
    bound.emplace(scope, w.layers.size());
    w.layers.push_back(std::move(layer));
  }
  if (family.tensors.final_norm) w.final_norm = bind.layer_norm(bind.body(family.tensors.final_norm), H);
}

// Heads: each is optional; present means every tensor it needs is there.
void bind_heads(WeightBinder& bind, const WeightStore& store, const EncoderSpec& spec, const TensorTable& t,
                EncoderWeights& w) {
  const int64_t H = spec.hidden, E = spec.embedding_size, V = spec.vocab_size;
  const auto has = [&](const std::string& name) { return bind.has(name + ".weight"); };
  const std::string pooler = bind.body(t.pooler);
  if (has(pooler)) w.pooler = bind.linear(pooler, H, H, true);
  if (w.pooler && has(t.nsp)) w.nsp = bind.linear(t.nsp, H, 2, true);
  if (w.pooler && has(t.classifier)) {
    const TensorInfo* info = store.find(std::string(t.classifier) + ".weight");
    if (info->shape.size() != 2 || info->shape[1] != H)
      fail_model("tensor '" + std::string(t.classifier) + ".weight' in " + info->file + " is not [C, hidden_size]");
    w.classifier = bind.linear(t.classifier, H, info->shape[0], true);
  }
  const std::string decoder = t.mlm_decoder ? t.mlm_decoder : "";
  const int64_t decoder_in = t.mlm == MlmKind::TransformTied ? E : H;
  const auto bind_decoder = [&](bool bias_required) {
    if (!decoder.empty() && has(decoder)) w.mlm_decoder_weight = bind.tensor(decoder + ".weight", {V, decoder_in});
    std::string bias = t.mlm_bias ? t.mlm_bias : "";
    if (!bias.empty() && !bind.has(bias) && !decoder.empty() && bind.has(decoder + ".bias")) bias = decoder + ".bias";
    if (!bias.empty() && (bias_required || bind.has(bias))) w.mlm_decoder_bias = bind.tensor(bias, {V});
  };
  if (t.mlm == MlmKind::TransformTied && t.mlm_transform && has(t.mlm_transform)) {
    w.mlm = MlmKind::TransformTied;
    w.mlm_transform = bind.linear(t.mlm_transform, H, E, true, spec.activation);
    w.mlm_transform_norm = bind.layer_norm(t.mlm_transform_norm, E);
    bind_decoder(/*bias_required=*/true);
  } else if (t.mlm == MlmKind::DirectTied) {
    w.mlm = MlmKind::DirectTied;
    bind_decoder(/*bias_required=*/false);
  }
}

// Walks the family's tensor table. The encoder layers' GEMMs run at the requested precision;
// embeddings, norms and heads stay f32.
EncoderWeights bind_weights(WeightBinder& bind, const WeightStore& store, const ConfigReader& config,
                            const EncoderSpec& spec, const FamilyDefinition& family, Precision precision) {
  EncoderWeights w;
  bind_embeddings(bind, spec, family.tensors, w);
  bind_layers(bind, config, spec, family, precision, w);
  bind_heads(bind, store, spec, family.tensors, w);
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
  const FamilyDefinition& family = family_for_config(config);
  model.spec = read_encoder_spec(config, family);
  WeightStore store = WeightStore::open_dir(dir);
  WeightBinder binder(store, model.spec, family.tensors);
  EncoderWeights weights = bind_weights(binder, store, config, model.spec, family, options.precision);
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
