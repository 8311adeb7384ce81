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
#include "engine/ops/cpu_isa.h"
#include "engine/ops/gemm_ceiling.h"
#include "engine/ops/op_profile.h"
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

// GEMM work of one op kind per forward (multiply-adds x 2), for its share of the ceiling.
double op_flops(OpKind kind, const EncoderSpec& s, int64_t batch, int64_t seq) {
  const double rows = static_cast<double>(batch * seq) * s.layers, H = s.hidden, I = s.intermediate;
  switch (kind) {
    case OpKind::QkvGemm: return 2 * rows * H * 3 * H;
    case OpKind::AttentionOutGemm: return 2 * rows * H * H;
    case OpKind::FfnInGemm:
    case OpKind::FfnOutGemm: return 2 * rows * H * I;
    case OpKind::Attention: return rows * 4.0 * seq * H;
    default: return 0;
  }
}

// The per-op profile of the timed iterations (engine/ops/op_profile.h): ms per forward, share of
// the total, and for the GEMM kinds their GFLOP/s and share of the measured ceiling.
nlohmann::json op_table(const EncoderSpec& spec, int64_t batch, int64_t seq, int iters, double ceiling) {
  const OpProfileSnapshot profile = op_profile();
  double total = 0;
  for (double ms : profile.ms) total += ms;
  nlohmann::json rows = nlohmann::json::array();
  for (int k = 0; k < kOpKinds; ++k) {
    const auto kind = static_cast<OpKind>(k);
    const double ms = profile.ms[k] / iters, flops = op_flops(kind, spec, batch, seq);
    nlohmann::json row = {{"op", op_name(kind)},
                          {"ms", ms},
                          {"share", total > 0 ? profile.ms[k] / total : 0.0},
                          {"calls", profile.calls[k] / iters}};
    if (flops > 0 && ms > 0) {
      row["gflops"] = flops / (ms * 1e6);
      row["ceiling_share"] = flops / (ms * 1e6) / ceiling;
    }
    rows.push_back(row);
  }
  return rows;
}

void print_op_table(const nlohmann::json& ops) {
  std::printf("\n%-38s %9s %7s %6s %9s %8s\n", "op (per forward, exclusive)", "ms", "share", "calls", "GFLOP/s",
              "ceiling");
  for (const auto& row : ops) {
    std::printf("%-38s %9.2f %6.1f%% %6lld", row["op"].get<std::string>().c_str(), row["ms"].get<double>(),
                100 * row["share"].get<double>(), static_cast<long long>(row["calls"].get<int64_t>()));
    if (row.contains("gflops"))
      std::printf(" %9.1f %7.1f%%", row["gflops"].get<double>(), 100 * row["ceiling_share"].get<double>());
    std::printf("\n");
  }
}

// The whole forward's GEMM work: the four layer GEMMs and attention's two.
double encoder_flops(const EncoderSpec& s, int64_t batch, int64_t seq) {
  double total = 0;
  for (int k = 0; k < kOpKinds; ++k) total += op_flops(static_cast<OpKind>(k), s, batch, seq);
  return total;
}

int run(const BenchArgs& args) {
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

  // Warm-up: primitives created, pages touched. oneDNN prints each kernel it runs here only, so
  // the timed iterations are not slowed by printing.
  if (args.verbose_kernels) dnnl::set_verbose(1);
  model.encoder->forward(in, req);
  dnnl::set_verbose(0);
  enable_op_profile(args.verbose_kernels);
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
                           {"precision", precision_name(model.precision)},
                           {"cpu_isa", cpu_isa_name()},
                           {"element_kernels", element_kernel_level()},
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
  if (args.verbose_kernels) result["ops"] = op_table(spec, args.batch, args.seq, args.iters, ceiling);
  if (args.format == "json") {
    std::cout << dump(result) << "\n";
  } else {
    for (const auto& [k, v] : result.items())
      if (k != "ops") std::printf("%-16s %s\n", k.c_str(), rounded(v, k).c_str());
    if (args.verbose_kernels) print_op_table(result["ops"]);
  }
  return 0;
}

void declare(CLI::App& app, BenchArgs& args) {
  args.model.add_to(app, /*with_attention=*/true, /*with_tokenizer=*/false);
  app.add_option("--batch", args.batch, "Sequences per batch")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_option("--seq", args.seq, "Tokens per sequence")->check(CLI::Range(int64_t{1}, int64_t{65536}));
  app.add_option("--iters", args.iters, "Timed iterations")->check(CLI::Range(1, 100000));
  app.add_option("--format", args.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  app.add_flag("--verbose-kernels", args.verbose_kernels,
               "Print the oneDNN kernel chosen for every op, then a per-op profile of the timed iterations");
}

const bool registered = register_command<BenchArgs>(
    "bench", "Time the encoder on a synthetic batch: median/min ms, tokens/s, GFLOP/s and share of the GEMM ceiling",
    declare, run);

}  // namespace
}  // namespace nspbert::cli
