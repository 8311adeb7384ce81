#!/usr/bin/python3
"""Speed of two nspbert binaries on the same model and shapes, interleaved (A, B, A, B, ...), so a
refactor can show it changed nothing: `nspbert bench` medians per process, the median over processes.

  /usr/bin/python3 tools/bench/before_after.py --before OLD/nspbert --after build/nspbert --model PEER \
      [--shapes 1x128,32x128] [--runs 5] [--threads 2]

PEER: a BERT-base-shaped folder (tools/bench/make_random_checkpoint.py). Run it on a quiet machine.
"""
import argparse
import json
import statistics
import subprocess


def bench_ms(binary, model, batch, seq, threads, iters, precision):
    out = subprocess.run([binary, "bench", "--model", model, "--batch", str(batch), "--seq", str(seq), "--threads",
                          str(threads), "--iters", str(iters), "--precision", precision, "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["median_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--shapes", default="1x128,32x128")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--precision", default="f32", help="f32, bf16, int8 or auto (both binaries)")
    args = ap.parse_args()
    print("| shape | before ms | after ms | after / before |\n|---|---|---|---|")
    for shape in args.shapes.split(","):
        batch, seq = (int(x) for x in shape.split("x"))
        times = {"before": [], "after": []}
        for _ in range(args.runs):
            for name in ("before", "after"):
                times[name].append(bench_ms(getattr(args, name), args.model, batch, seq, args.threads, args.iters,
                                           args.precision))
        before, after = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"| b{batch}x{seq} | {before:.1f} | {after:.1f} | {after / before:.3f} |", flush=True)


if __name__ == "__main__":
    main()
