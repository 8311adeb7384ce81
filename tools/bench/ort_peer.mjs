// ONNX Runtime (CPU, all graph optimisations) peer timings for tools/bench/vs_onnxruntime.py.
// Ported from ../shared/reference/ort_bench.mjs and ort_workload.mjs (the independent peer scripts).
//
//   ORT_PREFIX=DIR node ort_peer.mjs bench MODEL.onnx B T THREADS ITERS
//     one fixed-shape batch: two warm-up runs, then ITERS timed ones -> {median_ms, min_ms}
//   ORT_PREFIX=DIR node ort_peer.mjs workload MODEL.onnx WORKLOAD.json THREADS
//     pre-tokenised pairs ({"pairs": [{"ids": [...], "tt": [...]}]}) 32 per batch in input order,
//     each batch padded to its longest member, as a pipeline user runs it -> {infer_ms, probs}
// DIR is the --prefix that `npm install --ignore-scripts onnxruntime-node@1.30.0` was given.
import { createRequire } from "module";
import { readFileSync } from "fs";

const require = createRequire(process.env.ORT_PREFIX + "/node_modules/");
const ort = require("onnxruntime-node");
const [mode, model, ...args] = process.argv.slice(2);

async function session(threads) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: +threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential",
  });
}

function feeds(ids, tt, am, B, T) {
  return {
    input_ids: new ort.Tensor("int64", ids, [B, T]),
    token_type_ids: new ort.Tensor("int64", tt, [B, T]),
    attention_mask: new ort.Tensor("int64", am, [B, T]),
  };
}

const engine = "onnxruntime-" + ort.env.versions.common;
const elapsedMs = (since) => Number(process.hrtime.bigint() - since) / 1e6;

if (mode === "bench") {
  const [B, T, threads, iters] = args.map(Number);
  const sess = await session(threads);
  // The same synthetic batch as `nspbert bench`.
  const ids = new BigInt64Array(B * T), tt = new BigInt64Array(B * T), am = new BigInt64Array(B * T);
  for (let i = 0; i < B * T; i++) {
    ids[i] = BigInt(106 + ((i * 7919) % 20000)); tt[i] = BigInt(i % T >= T / 2 ? 1 : 0); am[i] = 1n;
  }
  const input = feeds(ids, tt, am, B, T);
  await sess.run(input); await sess.run(input);
  const times = [];
  for (let r = 0; r < iters; r++) {
    const start = process.hrtime.bigint();
    await sess.run(input);
    times.push(elapsedMs(start));
  }
  times.sort((x, y) => x - y);
  console.log(JSON.stringify({ engine, batch: B, seq: T, threads, iters,
    median_ms: times[Math.floor(times.length / 2)], min_ms: times[0] }));
} else if (mode === "workload") {
  const [workload, threads] = args;
  const t0 = process.hrtime.bigint();
  const sess = await session(threads);
  const t1 = process.hrtime.bigint();
  const pairs = JSON.parse(readFileSync(workload, "utf8")).pairs;
  const probs = [];
  for (let s = 0; s < pairs.length; s += 32) {
    const batch = pairs.slice(s, s + 32);
    const T = Math.max(...batch.map(p => p.ids.length)), B = batch.length;
    const ids = new BigInt64Array(B * T), tt = new BigInt64Array(B * T), am = new BigInt64Array(B * T);
    batch.forEach((p, b) => p.ids.forEach((v, t) => {
      ids[b * T + t] = BigInt(v); tt[b * T + t] = BigInt(p.tt[t]); am[b * T + t] = 1n;
    }));
    const out = await sess.run(feeds(ids, tt, am, B, T));
    const l = out.nsp_logits.data;
    for (let b = 0; b < B; b++) probs.push(1 / (1 + Math.exp(l[2 * b + 1] - l[2 * b])));
  }
  console.log(JSON.stringify({ engine, pairs: pairs.length, threads: +threads,
    load_ms: Number(t1 - t0) / 1e6, infer_ms: elapsedMs(t1), probs }));
} else {
  console.error("usage: node ort_peer.mjs bench MODEL.onnx B T THREADS ITERS | workload MODEL.onnx WORKLOAD.json THREADS");
  process.exit(2);
}
