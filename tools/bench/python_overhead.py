#!/usr/bin/env python3
"""Overhead of the Python package over the CLI (issue #15): the TNEWS zero-shot job, 64 headlines
x 15 labels = 960 pairs, once as one `nspbert classify` process and once as a Python process that
imports nspbert, loads the model and calls Model.classify on the same records. Runs interleave;
each figure is the median wall time of --runs processes. Both must print the same results (checked).

The headline ratio compares the work itself: Model.classify timed inside Python against the CLI
process minus the same CLI command on an empty input (process start, model load, prompt
tokenisation). Whole-process times are printed too; there Python's own start-up and NumPy import
(about 0.2 s on a quiet machine) count against it.

  /usr/bin/python3 tools/bench/python_overhead.py [--model DIR] [--runs 5] [--threads 2]

--model defaults to the tiny fixture (there process start-up dominates); for a real ratio use a
BERT-base-sized folder (tools/bench/make_random_checkpoint.py). Machine load moves both sides:
compare only ratios within one run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PYTHON_SIDE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
import nspbert
model_dir, headlines, template, labels, threads, max_length, position = sys.argv[2:9]
records = [json.loads(l) for l in open(headlines, encoding="utf-8") if l.strip()]
t1 = time.perf_counter()
m = nspbert.Model(model_dir, threads=int(threads))
t2 = time.perf_counter()
results = m.classify(records, labels.split(","), template, position=position, max_length=int(max_length),
                     text_field="sentence")
t3 = time.perf_counter()
sys.stdout.write("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in results))
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "classify_s": t3 - t2}), file=sys.stderr)
"""


def timed(cmd, env):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"python_overhead.py: {' '.join(cmd[:3])} ... exited {p.returncode}: {p.stderr.strip()[-400:]}")
    return wall, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "fixtures", "models", "bert-zh-tiny"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nspbert"))
    ap.add_argument("--pythonpath", default=os.path.join(ROOT, "build", "python"))
    ap.add_argument("--headlines", default=os.path.join(HERE, "tnews_dev_64.jsonl"))
    ap.add_argument("--task", default=os.path.join(ROOT, "tools", "tasks", "tnews.json"), help="template and labels")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    task = json.load(open(a.task, encoding="utf-8"))
    template, labels = task["templates"][0], ",".join(l["word"] for l in task["labels"])
    max_length, position = str(task.get("max_length", 128)), task.get("position", "prefix")
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
    cli = [a.bin, "classify", "--model", a.model, "--template", template, "--labels", labels, "--position", position,
           "--max-length", max_length, "--input", a.headlines, "--field", "sentence", "--threads",
           str(a.threads), "--format", "jsonl"]
    py = [sys.executable, "-c", PYTHON_SIDE, a.pythonpath, a.model, a.headlines, template, labels, str(a.threads),
          max_length, position]
    empty = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nspbert-empty-{os.getpid()}.jsonl")
    open(empty, "w").close()
    cli_empty = cli[:cli.index("--input") + 1] + [empty] + cli[cli.index("--input") + 2:]
    cli_s, fixed_s, py_s, inside = [], [], [], []
    for run in range(a.runs):
        w, cli_out, _ = timed(cli, env)
        cli_s.append(w)
        fixed_s.append(timed(cli_empty, env)[0])
        w, py_out, err = timed(py, env)
        py_s.append(w)
        inside.append(json.loads(err.strip().splitlines()[-1]))
        if [json.loads(l) for l in py_out.splitlines()] != [json.loads(l) for l in cli_out.splitlines()]:
            sys.exit("python_overhead.py: Model.classify and nspbert classify printed different results")
        print(f"run {run + 1}: cli {cli_s[-1]:.3f} s (empty input {fixed_s[-1]:.3f}), python {py_s[-1]:.3f} s "
              f"(import {inside[-1]['import_s']:.3f}, load {inside[-1]['load_s']:.3f}, classify {inside[-1]['classify_s']:.3f})",
              flush=True)
    os.unlink(empty)
    c, p, fixed = statistics.median(cli_s), statistics.median(py_s), statistics.median(fixed_s)
    pairs = sum(1 for l in open(a.headlines, encoding="utf-8") if l.strip()) * len(labels.split(","))
    load = statistics.median(x["load_s"] for x in inside)
    classify = statistics.median(x["classify_s"] for x in inside)
    work = classify / (c - fixed) if c > fixed else float("nan")
    print(json.dumps({"model": a.model, "pairs": pairs, "threads": a.threads, "runs": a.runs,
                      "cli_process_s": c, "cli_empty_input_s": fixed, "cli_work_s": c - fixed,
                      "python_process_s": p, "python_load_s": load, "python_classify_s": classify,
                      "ratio_classify_over_cli_work": work, "ratio_process_over_process": p / c,
                      "identical_results": True, "target_within_3_percent": work <= 1.03}, indent=1))
    print(f"Model.classify / CLI work: {work:.3f}; Python process / CLI process: {p / c:.3f} "
          f"(medians of {a.runs}; target: the first <= 1.03)")


if __name__ == "__main__":
    main()
