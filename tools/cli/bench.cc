// nspbert bench: time the encoder on a fixed batch, the way the ONNX Runtime peer is timed
// (same synthetic ids, NSP logits and the last hidden state as outputs).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/error.h"
#include "engine/ops/gemm_ceiling.h"
#include "tools/cli/command.h"
#include "tools/cli/json_io.h"
#include "tools/cli/model_options.h"

namespace nspbert::cli {
namespace {

struct BenchArgs {
  ModelOptions model;
  int64_t batch = 1;
  int64_t seq = 128;
  int iters = 10;
  std::string format = "table";
  bool verbose_kernels = false;
};

// Table output: figures to the precision a timing supports, not 17 digits.
std::string rounded(const nlohmann::json& v, const std::string& key) {
  if (!v.is_number_float()) return v.is_string() ? v.get<std::string>() : dump(v);
  char buf[64];
  const double x = v.get<double>();
  if (key == "ceiling_share")
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * x);
  else if (key == "tokens_per_s")
    std::snprintf(buf, sizeof buf, "%.0f", x);
  else
    std::snprintf(buf, sizeof buf, x < 10 ? "%.2f" : "%.1f", x);
  return buf;
}

double encoder_flops(const EncoderSpec& s, int64_t batch, int64_t seq) {
  const double tokens = static_cast<double>(batch * seq);
  const double linear_params = 4.0 * s.hidden * s.hidden + 2.0 * s.hidden * s.intermediate;
  const double attention = 4.0 * seq * s.hidden;  // QK^T and PV per token per layer
  return s.layers * tokens * (2.0 * linear_params + attention);
}

int run(const BenchArgs& args) {
  if (args.verbose_kernels) setenv("ONEDNN_VERBOSE", "1", 1);
  const Model model = args.model.load(/*need_tokenizer=*/false);
  // Measured before the encoder runs, in the precision it runs (this CPU's ceiling, not a table's).
  const double ceiling = measured_gemm_gflops(parse_precision(args.model.precision));
  const EncoderSpec& spec = model.spec;
  if (spec.position_kind == PositionKind::Absolute && args.seq > spec.max_positions)
    fail_usage("--seq " + std::to_string(args.seq) + " is past max_position_embeddings " +
               std::to_string(spec.max_positions));

  EncoderInput in;
  in.batch = args.batch;
  in.seq_len = args.seq;
  const int64_t n = args.batch * args.seq;
  in.ids.resize(n);
  in.type_ids.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    in.ids[i] = static_cast<int32_t>((106 + (i * 7919) % 20000) % spec.vocab_size);
    in.type_ids[i] = (i % args.seq >= args.seq / 2 && spec.type_vocab_size > 1) ? 1 : 0;
  }
  ForwardRequest req;
  req.want_last_hidden = true;
  const HeadsPresent heads = model.encoder->heads();
  req.want_nsp = heads.nsp;
  req.attention = args.model.attention(spec);

  model.encoder->forward(in, req);  // warm-up: primitives created, pages touched
  std::vector<double> times;
  for (int i = 0; i < args.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    model.encoder->forward(in, req);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2], best = times.front();
  const int threads = thread_count();
  const double gflops = encoder_flops(spec, args.batch, args.seq) / (median * 1e6);
  nlohmann::json result = {{"engine", "nspbert"},
                           {"model", args.model.model},
                           {"precision", args.model.precision},
                           {"batch", args.batch},
                           {"seq", args.seq},
                           {"threads", threads},
                           {"iters", args.iters},
                           {"median_ms", median},
                           {"min_ms", best},
                           {"tokens_per_s", n / (median / 1e3)},
                           {"gflops", gflops},
                           {"ceiling_gflops", ceiling},
                           {"ceiling_share", gflops / ceiling}};
  if (args.format == "json") {
    std::cout << dump(result) << "\n";
  } else {
    for (const auto& [k, v] : result.items()) std::printf("%-16s %s\n", k.c_str(), rounded(v, k).c_str());
  }
  return 0;
}

void declare(CLI::App& app, BenchArgs& args) {
  args.model.add_to(app, /*with_attention=*/true, /*with_tokenizer=*/false);
  app.add_option("--batch", args.batch, "Sequences per batch")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--seq", args.seq, "Tokens per sequence")->check(CLI::Range(int64_t{1}, int64_t{65536}));
  app.add_option("--iters", args.iters, "Timed iterations")->check(CLI::Range(1, 100000));
  app.add_option("--format", args.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  app.add_flag("--verbose-kernels", args.verbose_kernels, "Print the oneDNN kernel chosen for every op");
}

const bool registered = register_command<BenchArgs>(
    "bench", "Time the encoder on a synthetic batch: median/min ms, tokens/s, GFLOP/s and share of the GEMM ceiling",
    declare, run);

}  // namespace
}  // namespace nspbert::cli
