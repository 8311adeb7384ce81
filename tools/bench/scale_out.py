#!/usr/bin/python3
"""Scale-out benchmark: lines/s of one JSONL scoring job run three ways on this machine, interleaved.

  /usr/bin/python3 tools/bench/scale_out.py --model DIR [--lines 2000] [--runs 3]

  one process   nspbert score --threads 2
  dask local:2  python3 -m nspbert.distributed score --scheduler local:2 --threads 1 (2 worker processes)
  2 shards      two nspbert score --shard I/2 --threads 1 at once, then nspbert merge

Each run's output is compared byte for byte with the one-process output. Scaling efficiency is a
way's lines/s over the one-process lines/s (same cores: 1.0 means no cost for splitting the job).
The per-partition overhead is the extra wall time of a Dask run with partitions five times smaller,
divided by the extra partitions; the model load once per worker
comes from the runner's own count. Input: EPRSTMT-style reviews (tests/data/fewclue/eprstmt.jsonl)
repeated to --lines lines. Run it on a quiet machine.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TASK = os.path.join(ROOT, "tools", "tasks", "eprstmt.json")


def make_input(path, lines):
    src = [l for l in open(os.path.join(ROOT, "tests", "data", "fewclue", "eprstmt.jsonl"), encoding="utf-8") if l.strip()]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(lines):
            record = json.loads(src[i % len(src)])
            record["id"] = i
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def timed(commands, env):
    """Runs the commands at once; returns the wall seconds until the last one ends, and their stderr."""
    started = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env) for c in commands]
    errors = [p.communicate()[1] for p in procs]
    for c, p, e in zip(commands, procs, errors):
        if p.returncode != 0:
            sys.exit(f"scale_out.py: {' '.join(c)} exited {p.returncode}: {e.strip()[-500:]}")
    return time.perf_counter() - started, errors


class Ways:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.input = os.path.join(work, "in.jsonl")
        self.env = dict(os.environ, PYTHONPATH=args.pythonpath, OMP_WAIT_POLICY="passive")
        self.score = [args.bin, "score", "--model", args.model, "--task", TASK, "--input", self.input]

    def one_process(self):
        out = os.path.join(self.work, "one.jsonl")
        seconds, _ = timed([self.score + ["--threads", "2", "--output", out]], self.env)
        return seconds, out

    def shards(self):
        parts = [os.path.join(self.work, f"shard{i}.jsonl") for i in range(2)]
        for p in parts:
            if os.path.exists(p):
                os.remove(p)
        started = time.perf_counter()
        timed([self.score + ["--threads", "1", "--shard", f"{i}/2", "--output", parts[i]] for i in range(2)], self.env)
        out = os.path.join(self.work, "shards.jsonl")
        timed([[self.args.bin, "merge", "--input", self.input, "--output", out, *parts]], self.env)
        return time.perf_counter() - started, out

    def dask(self, partition_lines=None):
        out = os.path.join(self.work, "dask.jsonl")
        command = [sys.executable, "-m", "nspbert.distributed", "score", "--scheduler", "local:2", "--threads", "1",
                   "--model", self.args.model, "--task", TASK, "--input", self.input, "--output", out,
                   "--partition-lines", str(partition_lines or self.args.partition_lines)]
        seconds, (err,) = timed([command], self.env)
        scored = float(re.search(r"lines in ([0-9.]+) s", err).group(1))
        self.load_seconds = float(re.search(r"([0-9.]+) s at most", err).group(1))
        return seconds, out, scored


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the BERT-base-shaped peer (tools/bench/make_random_checkpoint.py)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nspbert"))
    ap.add_argument("--pythonpath", default=os.path.join(ROOT, "build", "python"))
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partition-lines", type=int, default=250)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        ways = Ways(args, work)
        make_input(ways.input, args.lines)
        times = {"one process (2 threads)": [], "dask local:2 (1 thread each)": [], "dask scoring only": [],
                 "2 shards + merge (1 thread each)": []}
        reference = None
        for run in range(args.runs):
            seconds, out = ways.one_process()
            times["one process (2 threads)"].append(seconds)
            reference = reference or open(out, "rb").read()
            seconds, out, scored = ways.dask()
            times["dask local:2 (1 thread each)"].append(seconds)
            times["dask scoring only"].append(scored)
            assert open(out, "rb").read() == reference, "dask output differs from one process"
            seconds, out = ways.shards()
            times["2 shards + merge (1 thread each)"].append(seconds)
            assert open(out, "rb").read() == reference, "merged shards differ from one process"
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()), flush=True)
        # Both partitionings keep every worker busy; the difference is the cost of more partitions.
        small_lines = max(1, args.partition_lines // 5)
        small, _, _ = ways.dask(small_lines)
        large = statistics.median(times["dask local:2 (1 thread each)"])
        extra_parts = -(-args.lines // small_lines) - -(-args.lines // args.partition_lines)
        base = args.lines / statistics.median(times["one process (2 threads)"])
        rows = {k: {"seconds": statistics.median(v), "lines_per_s": args.lines / statistics.median(v),
                    "efficiency": args.lines / statistics.median(v) / base} for k, v in times.items()}
        result = {"lines": args.lines, "runs": args.runs, "partition_lines": args.partition_lines, "ways": rows,
                  "per_partition_overhead_s": (small - large) / extra_parts, "model_load_s": ways.load_seconds}
    print(f"\n{args.lines} lines, median of {args.runs} interleaved runs")
    print(f"| way | seconds | lines/s | efficiency |\n|---|---|---|---|")
    for k, r in rows.items():
        print(f"| {k} | {r['seconds']:.1f} | {r['lines_per_s']:.1f} | {r['efficiency']:.2f} |")
    print(f"per-partition overhead: {result['per_partition_overhead_s'] * 1000:.0f} ms; "
          f"model load (once per worker): {result['model_load_s']:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
